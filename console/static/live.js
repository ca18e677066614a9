// Supervisor live calls: append every worker event as it arrives (textContent only).
"use strict";

(function () {
  const list = document.getElementById("events");

  function onCall(e) {
    const event = JSON.parse(e.data);
    const words = [event.at || "", event.worker || "", event.type || "", event.call_id || ""];
    if (event.text) words.push("“" + event.text + "”");
    if (event.agent_id !== undefined) words.push("agent " + event.agent_id);
    const item = document.createElement("li");
    item.textContent = words.join(" · ");
    list.prepend(item);
    while (list.children.length > 200) list.lastElementChild.remove();
  }

  // Streams end after their lifetime (the browser reconnects), when this session opened newer
  // ones or signed out ("closed"); a refused connection (503) is retried here.
  function listen() {
    const source = new EventSource("/supervisor/events");
    source.addEventListener("open", () => { document.body.dataset.live = "yes"; });
    source.addEventListener("call", onCall);
    source.addEventListener("closed", (e) => {
      source.close();
      document.body.dataset.live = "no";
      if (JSON.parse(e.data).reason === "signed_out") window.location.assign("/login");
    });
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) return;
      document.body.dataset.live = "no";
      setTimeout(async () => {
        try {
          const session = await fetch("/agent/api/current", { credentials: "same-origin" });
          if (session.status === 401) {
            window.location.assign("/login");
            return;
          }
        } catch (_) { /* the console is unreachable: try the stream again */ }
        listen();
      }, 5000 + Math.random() * 5000);
    });
  }

  listen();
})();
