// Supervisor live calls: append every worker event as it arrives (textContent only).
"use strict";

(function () {
  const list = document.getElementById("events");
  const source = new EventSource("/supervisor/events");
  source.addEventListener("open", () => { document.body.dataset.live = "yes"; });
  source.addEventListener("call", (e) => {
    const event = JSON.parse(e.data);
    const words = [event.at || "", event.worker || "", event.type || "", event.call_id || ""];
    if (event.text) words.push("“" + event.text + "”");
    if (event.agent_id !== undefined) words.push("agent " + event.agent_id);
    const item = document.createElement("li");
    item.textContent = words.join(" · ");
    list.prepend(item);
    while (list.children.length > 200) list.lastElementChild.remove();
  });
})();
