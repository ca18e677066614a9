// The supervisor's floor: every "floor" event is the whole floor, read from the database by
// the console; rendered with textContent only (caller text is data). Alerts can be acknowledged.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const section = document.getElementById("floor");

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function clock(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  function fill(id, items, render) {
    const body = document.querySelector("#" + id + " tbody");
    body.replaceChildren();
    for (const item of items) {
      const row = document.createElement("tr");
      render(row, item);
      body.appendChild(row);
    }
  }

  async function acknowledge(id) {
    await fetch("/supervisor/api/alerts/" + id + "/ack", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: "{}",
    });
  }

  async function monitor(callId, mode) {
    const status = document.getElementById("monitor-status");
    const response = await fetch("/supervisor/api/calls/" + encodeURIComponent(callId) + "/monitor", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ mode }),
    });
    const answer = await response.json().catch(() => ({}));
    status.textContent = response.ok ? (mode === "leave" ? "You left the call." : "Your phone: " + mode)
      : (answer.error || "refused (" + response.status + ")");
    status.dataset.status = String(response.status);
  }

  function alerts(list) {
    const box = document.getElementById("alerts");
    box.replaceChildren();
    for (const alert of list) {
      const item = document.createElement("li");
      item.dataset.alertId = alert.id;
      item.dataset.kind = alert.kind;
      item.className = alert.acknowledged ? "acknowledged" : "open";
      const what = document.createElement("span");
      what.className = "reason";
      what.textContent = (alert.at || "") + " · " + alert.kind + " · " + alert.reason;
      item.appendChild(what);
      if (alert.words.length) {
        const words = document.createElement("q");
        words.className = "words";
        words.textContent = alert.words.join(" … ");
        item.appendChild(words);
      }
      if (alert.call_id) {
        const link = document.createElement("a");
        link.href = "#call-" + alert.call_id;
        link.textContent = "transcript";
        item.appendChild(link);
      }
      if (!alert.acknowledged) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "ack";
        button.textContent = "Acknowledge";
        button.addEventListener("click", () => acknowledge(alert.id));
        item.appendChild(button);
      }
      box.appendChild(item);
    }
    if (!list.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No alerts.";
      box.appendChild(empty);
    }
  }

  function render(floor) {
    alerts(floor.alerts);
    fill("queues", floor.queues, (row, q) => {
      cell(row, q.name); cell(row, q.waiting); cell(row, clock(q.longest_wait_seconds));
      cell(row, q.service_level === null ? "—" : q.service_level + " %");
      cell(row, q.callbacks_pending);
    });
    fill("agents", floor.agents, (row, a) => {
      row.dataset.agentId = a.id;
      cell(row, a.name); cell(row, a.state.replace("_", " "));
      cell(row, clock(a.seconds_in_state)); cell(row, a.current_call); cell(row, a.calls_today);
    });
    fill("floor-calls", floor.calls, (row, c) => {
      row.id = "call-" + c.id;
      row.dataset.callId = c.id;
      cell(row, c.caller); cell(row, c.customer); cell(row, c.agent); cell(row, c.queue);
      cell(row, c.state); cell(row, clock(c.duration_seconds));
      cell(row, c.mood).className = "mood " + (c.mood || "");
      const said = cell(row, "");
      said.className = "lines";
      for (const line of c.lines) {
        const p = document.createElement("div");
        p.textContent = line.speaker + ": " + line.text;
        said.appendChild(p);
      }
      const modes = cell(row, c.monitor ? "you: " + c.monitor.mode + " " : "");
      modes.className = "monitor";
      for (const mode of ["listen", "whisper", "barge", "leave"]) {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.mode = mode;
        button.textContent = mode;
        button.addEventListener("click", () => monitor(c.id, mode));
        modes.appendChild(button);
      }
    });
    document.dispatchEvent(new CustomEvent("floor", { detail: floor }));
    refreshCharts();
  }

  // The day's charts are drawn by the server (inline SVG, its text escaped there); while the
  // floor is live they are fetched again at most every CHARTS_EVERY_MS.
  const CHARTS_EVERY_MS = 30000;
  let chartsAt = Date.now();
  async function refreshCharts(force) {
    if (!force && Date.now() - chartsAt < CHARTS_EVERY_MS) return;
    chartsAt = Date.now();
    const response = await fetch("/supervisor/charts", { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
      .getElementById("floor-charts");
    const shown = document.getElementById("floor-charts");
    if (fresh && shown) shown.replaceWith(document.adoptNode(fresh));
  }
  window.centralinoRefreshCharts = () => refreshCharts(true);

  function listen() {
    const source = new EventSource("/supervisor/floor/stream");
    source.addEventListener("open", () => { section.dataset.live = "yes"; });
    source.addEventListener("floor", (e) => render(JSON.parse(e.data)));
    source.addEventListener("closed", (e) => {
      source.close();
      section.dataset.live = "no";
      if (JSON.parse(e.data).reason === "signed_out") window.location.assign("/login");
    });
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) return;
      section.dataset.live = "no";
      setTimeout(listen, 3000 + Math.random() * 3000);
    });
  }

  listen();
})();

// Reviews of flagged credits: approve, or reverse (a counter-entry in the ledger).
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  document.querySelectorAll("td.review button[data-outcome]").forEach((button) => {
    button.addEventListener("click", async () => {
      const cell = button.closest("td");
      const response = await fetch("/supervisor/api/credits/" + cell.dataset.creditId + "/review", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ outcome: button.dataset.outcome }),
      });
      const answer = await response.json().catch(() => ({}));
      cell.textContent = response.ok ? button.dataset.outcome : (answer.error || "refused");
    });
  });
})();
