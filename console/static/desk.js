// The agent desk: screen pop over server-sent events, call controls, credits and wrap-up.
// Everything that came from callers or profiles is written with textContent, never as HTML.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let current = null; // the screen pop of the call on this desk
  window.centralinoPops = []; // {call_id, at, shown_ms}: when each pop became visible

  function node(tag, text, className) {
    const element = document.createElement(tag);
    if (text !== undefined && text !== null) element.textContent = String(text);
    if (className) element.className = className;
    return element;
  }

  function fact(list, label, value) {
    if (value === undefined || value === null || value === "") return;
    list.append(node("dt", label), node("dd", value));
  }

  function showError(message) {
    $("desk-error").textContent = message || "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (_) {
      answer = { error: "unexpected answer (" + response.status + ")" };
    }
    if (!response.ok) throw new Error(answer.error || "failed (" + response.status + ")");
    return answer;
  }

  function setState(state) {
    $("state").textContent = state;
    $("state").dataset.state = state;
  }

  function renderCustomer(customer) {
    const details = $("details");
    const accounts = $("accounts");
    const history = $("history");
    const select = $("credit-account");
    details.replaceChildren();
    accounts.replaceChildren();
    history.replaceChildren();
    select.replaceChildren();
    $("you-spoke").textContent = "";
    $("new-caller").hidden = !!customer;
    $("credit-form").hidden = !customer;
    const photo = $("photo");
    photo.hidden = true;
    photo.removeAttribute("src");
    if (!customer) {
      $("caller-name").textContent = "New caller";
      return;
    }
    $("caller-name").textContent = customer.name;
    if (customer.photo_url && /^(https?:\/\/|\/)/.test(customer.photo_url)) {
      photo.src = customer.photo_url;
      photo.hidden = false;
    }
    if (customer.you_spoke_on) {
      $("you-spoke").textContent = "You spoke with them on " + customer.you_spoke_on + ".";
    }
    fact(details, "Phone", customer.phone);
    fact(details, "E-mail", customer.email);
    fact(details, "Address", customer.address);
    fact(details, "Language", customer.locale);
    fact(details, "Notes", customer.notes);
    for (const [key, value] of Object.entries(customer.preferences || {})) fact(details, key, value);
    for (const account of customer.accounts || []) {
      const credited = account.credited_cents ? ", credited " + (account.credited_cents / 100).toFixed(2) : "";
      accounts.append(node("li", account.number + " — " + (account.plan || "") + " (" + account.currency + credited + ")"));
      const option = node("option", account.number + " (" + account.currency + ")");
      option.value = account.id;
      option.dataset.currency = account.currency;
      select.append(option);
    }
    if (select.options.length) $("credit-currency").value = select.options[0].dataset.currency;
    for (const item of customer.history || []) {
      const entry = node("li", null, item.with_you ? "with-you" : "");
      entry.append(
        node("span", item.date, "date"),
        node("span", " · " + (item.agent || "unknown agent") + (item.with_you ? " (you)" : "") + " · " + (item.outcome || "")),
      );
      if (item.csat) {
        const score = node("span", " · CSAT " + item.csat + "/5", "csat");
        score.title = "post-call survey";
        entry.append(score);
      }
      entry.append(node("div", item.notes || "", "note"));
      if (item.summary) entry.append(node("div", item.summary, "summary"));
      if (item.follow_up) entry.append(node("div", "Follow-up: " + item.follow_up, "follow-up"));
      history.append(entry);
    }
  }

  function renderIvr(ivr) {
    const list = $("ivr");
    list.replaceChildren();
    if (!ivr) return;
    fact(list, "Greeting", ivr.greeting ? "“" + ivr.greeting + "”" : "—");
    fact(list, "Mood", ivr.mood || "—");
    fact(list, "Account", ivr.account);
    fact(list, "Identified by", ivr.identified_by || "not identified");
    for (const [key, value] of Object.entries(ivr.other || {})) fact(list, key, value);
  }

  const RINGING_SAYS = { callback: "callback ringing", transfer: "transfer ringing" };

  function renderPop(pop) {
    current = pop;
    delete $("pop").dataset.shownMs;
    $("pop").hidden = false;
    $("pop").dataset.callId = pop.call_id || "";
    $("caller-number").textContent = pop.caller || "";
    $("route-reason").textContent = pop.route_reason ? "Routed to you: " + pop.route_reason : "";
    // a desk (re)loaded mid-call shows where the call is now, not that it rang
    const since = pop.call_state && pop.call_state !== "ringing" ? pop.call_state : null;
    $("call-state").textContent = since || RINGING_SAYS[pop.kind] || "ringing";
    $("transcript").replaceChildren();
    $("credits").replaceChildren();
    $("credit-limit").textContent =
      "Your limit " + (pop.credit_limit_cents / 100).toFixed(2) +
      "; review at " + (pop.audit_threshold_cents / 100).toFixed(2);
    renderIvr(pop.ivr);
    renderCustomer(pop.customer);
    requestAnimationFrame(() => {
      const shown = performance.timeOrigin + performance.now();
      window.centralinoPops.push({ call_id: pop.call_id, at: pop.at, shown_ms: shown });
      $("pop").dataset.shownMs = String(shown);
    });
  }

  function onCallEvent(event) {
    if (!current || event.call_id !== current.call_id) return;
    $("call-state").textContent = event.type;
    if (event.type === "ended") {
      onSupervisor({ call_id: event.call_id, mode: null });  // the supervisor left with the call
      $("wrapup-form").querySelector("textarea").focus();
    }
  }

  const SUPERVISOR_SAYS = {
    listen: "A supervisor is listening to this call.",
    whisper: "A supervisor is listening and can speak to you (the caller does not hear them).",
    barge: "A supervisor has joined the call: you and the caller hear them.",
  };

  function onSupervisor(event) {
    const box = $("supervisor-presence");
    const mode = event.mode && SUPERVISOR_SAYS[event.mode] ? event.mode : "";
    box.dataset.mode = mode;
    box.dataset.callId = event.call_id || "";
    box.textContent = mode ? SUPERVISOR_SAYS[mode] : "";
    box.hidden = !mode;
  }

  function onTranscript(event) {
    if (!current || event.call_id !== current.call_id) return;
    if (event.type === "transcript.gap") {  // the recogniser missed this stretch
      const seconds = Math.max(1, Math.round(Number(event.duration_ms) / 1000));
      const gap = node("li", `${event.speaker}: ${seconds} s not transcribed (${event.reason})`, "gap");
      gap.dataset.speaker = String(event.speaker);
      $("transcript").append(gap);
      return;
    }
    const line = node("li", (event.speaker ? event.speaker + ": " : "") + (event.text || ""),
      event.type === "transcript.final" ? "final" : "partial");
    const list = $("transcript");
    const last = list.lastElementChild;
    if (last && last.classList.contains("partial") && last.dataset.speaker === String(event.speaker)) {
      last.replaceWith(line);
    } else {
      list.append(line);
    }
    line.dataset.speaker = String(event.speaker);
  }

  function notice(message) {
    $("desk-notice").textContent = message || "";
    $("desk-notice").hidden = !message;
  }

  async function showCurrentPop() {
    const response = await fetch("/agent/api/current", { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/login");
      return;
    }
    const { pop } = await response.json();
    if (pop && (!current || current.call_id !== pop.call_id)) renderPop(pop);
  }

  // The server ends a stream after its lifetime (the browser reconnects by itself), when this
  // session opened newer streams ("superseded": another tab has the desk), or when the session
  // ended ("signed_out"). A refused connection (503: the console is full) is retried here.
  function listen() {
    const source = new EventSource("/agent/events");
    source.addEventListener("screenpop", (e) => renderPop(JSON.parse(e.data)));
    source.addEventListener("call", (e) => onCallEvent(JSON.parse(e.data)));
    source.addEventListener("transcript", (e) => onTranscript(JSON.parse(e.data)));
    source.addEventListener("supervisor", (e) => onSupervisor(JSON.parse(e.data)));
    source.addEventListener("state", (e) => setState(JSON.parse(e.data).state));
    source.addEventListener("open", () => {
      document.body.dataset.live = "yes";
      notice("");
      showCurrentPop().catch(() => {});
    });
    source.addEventListener("closed", (e) => {
      source.close();
      document.body.dataset.live = "no";
      const { reason } = JSON.parse(e.data);
      if (reason === "signed_out") window.location.assign("/login");
      else notice("This desk is open in a newer tab; reload here to take it back.");
    });
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      document.body.dataset.live = "no";
      notice("Live updates paused; reconnecting…");
      setTimeout(() => showCurrentPop().then(listen, listen), 5000 + Math.random() * 5000);
    });
  }

  function formBody(form) {
    return Object.fromEntries(new FormData(form).entries());
  }

  function wire() {
    $("device-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const answer = await post("/agent/api/device", formBody(e.target));
        $("device-status").textContent = "Bound to " + answer.device.extension;
        showError("");
      } catch (error) { showError(error.message); }
    });
    for (const button of $("state-form").querySelectorAll("button[data-state]")) {
      button.addEventListener("click", async () => {
        try {
          const reason = $("state-form").elements.reason.value;
          const answer = await post("/agent/api/state", { state: button.dataset.state, reason });
          setState(answer.state);
          showError("");
        } catch (error) { showError(error.message); }
      });
    }
    $("raise-hand").addEventListener("click", async () => {
      try {
        await post("/agent/api/raise-hand", { call_id: current ? current.call_id : null });
        $("desk-notice").textContent = "A supervisor has been asked to help.";
        $("desk-notice").hidden = false;
        showError("");
      } catch (error) { showError(error.message); }
    });
    for (const button of document.querySelectorAll("#controls button[data-action], #transfer-form button[data-action]")) {
      button.addEventListener("click", async () => {
        if (!current) return;
        try {
          await post("/agent/api/calls/" + encodeURIComponent(current.call_id) + "/" + button.dataset.action);
          showError("");
        } catch (error) { showError(error.message); }
      });
    }
    $("transfer-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      try {
        await post("/agent/api/calls/" + encodeURIComponent(current.call_id) + "/transfer", formBody(e.target));
        showError("");
      } catch (error) { showError(error.message); }
    });
    $("credit-account").addEventListener("change", (e) => {
      $("credit-currency").value = e.target.selectedOptions[0].dataset.currency;
    });
    $("credit-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      const body = formBody(e.target);
      body.call_id = current.call_id;
      body.idempotency_key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
      try {
        const { credit } = await post("/agent/api/credits", body);
        const line = node("li", (credit.amount_cents / 100).toFixed(2) + " " + credit.currency + " " +
          credit.kind + (credit.flagged_for_review ? " — flagged for supervisor review" : " — recorded"),
          credit.flagged_for_review ? "credit flagged" : "credit");
        $("credits").append(line);
        e.target.elements.amount.value = "";
        e.target.elements.reason.value = "";
        showError("");
      } catch (error) { showError(error.message); }
    });
    $("wrapup-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = formBody(e.target);
      body.call_id = current ? current.call_id : "";
      try {
        const answer = await post("/agent/api/wrapup", body);
        setState(answer.state);
        e.target.reset();
        current = null;
        $("pop").hidden = true;
        showError("");
      } catch (error) { showError(error.message); }
    });
    $("create-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      try {
        const answer = await post("/agent/api/customers", { ...formBody(e.target), call_id: current.call_id });
        current.customer = answer.customer;
        renderCustomer(answer.customer);
      } catch (error) { showError(error.message); }
    });
    $("link-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      try {
        const answer = await post("/agent/api/customers/link", { ...formBody(e.target), call_id: current.call_id });
        current.customer = answer.customer;
        renderCustomer(answer.customer);
      } catch (error) { showError(error.message); }
    });
  }

  function start() {
    wire();
    listen(); // its "open" shows the call already ringing, if any
  }

  start();
})();
