// Admin pages: sortable and searchable tables, confirmation before destructive actions.
(function () {
  "use strict";
  function cellText(row, index) {
    const cell = row.cells[index];
    return cell ? (cell.dataset.value || cell.textContent).trim() : "";
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (header, index) {
      header.tabIndex = 0;
      function sort() {
        const body = table.tBodies[0];
        const ascending = header.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[data-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = header.dataset.sort === "number";
        const rows = Array.from(body.rows).filter(function (r) { return !r.classList.contains("empty"); });
        rows.sort(function (a, b) {
          const x = cellText(a, header.cellIndex), y = cellText(b, header.cellIndex);
          const order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      header.addEventListener("click", sort);
      header.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  document.querySelectorAll("input[data-filter-for]").forEach(function (input) {
    const table = document.getElementById(input.dataset.filterFor);
    input.addEventListener("input", function () {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.from(table.tBodies[0].rows).forEach(function (row) {
        if (row.classList.contains("empty")) return;
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.includes(w); });
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
// Flow editor: a problem's "line N" link puts the cursor on that line of the document.
(function () {
  "use strict";
  const area = document.getElementById("flow-text");
  if (!area) return;
  document.querySelectorAll("a[data-goto-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      const line = parseInt(link.dataset.gotoLine, 10) || 1;
      const lines = area.value.split("\n");
      let start = 0;
      for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
      const end = start + (lines[line - 1] || "").length;
      area.focus();
      area.setSelectionRange(start, end);
      area.scrollTop = Math.max(0, (line - 5) * 18);
    });
  });
})();
// Trunks: the registration cells follow the edge's reports every few seconds.
(function () {
  "use strict";
  const table = document.querySelector("table[data-refresh]");
  if (!table) return;
  function refresh() {
    fetch(table.dataset.refresh, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : "";
    }).then(function (html) {
      if (!html) return;
      const parsed = new DOMParser().parseFromString(html, "text/html");
      parsed.querySelectorAll("[data-trunk-state]").forEach(function (fresh) {
        const cell = table.querySelector("td[data-trunk-state='" + CSS.escape(fresh.dataset.trunkState) + "']");
        if (cell) cell.replaceChildren.apply(cell, Array.from(fresh.childNodes, function (n) { return document.importNode(n, true); }));
      });
    }).catch(function () {});
  }
  setInterval(refresh, 2000);
})();
// Flow editor: prompt preview (rendered from the text as typed) and the rehearsal panel.
(function () {
  "use strict";
  const area = document.getElementById("flow-text");
  const table = document.getElementById("prompts");
  if (!area || !table) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const audio = document.getElementById("prompt-audio");
  const previewError = document.getElementById("preview-error");
  function post(url, fields) {
    const data = new FormData();
    Object.keys(fields).forEach(function (k) { data.append(k, fields[k]); });
    return fetch(url, { method: "POST", body: data, credentials: "same-origin",
                        headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
  }
  function firstError(body) {
    if (body.fields) return Object.values(body.fields).join("; ");
    if (body.issues) return body.issues.map(function (i) { return "line " + i.line + ", " + i.field + ": " + i.message; }).join("; ");
    return body.error || "refused";
  }
  table.querySelectorAll("button[data-play]").forEach(function (button) {
    button.addEventListener("click", function () {
      previewError.textContent = "";
      post(table.dataset.preview, { text: area.value, prompt: button.dataset.play,
                                    locale: document.getElementById("preview-locale").value })
        .then(function (answer) {
          if (!answer.ok) { previewError.textContent = firstError(answer.body); return; }
          audio.dataset.prompt = button.dataset.play;
          audio.dataset.text = answer.body.text;
          audio.src = answer.body.url;
          audio.play().catch(function () {});
        });
    });
  });
  table.querySelectorAll("a[data-play-recording]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      audio.src = link.href;
      audio.play().catch(function () {});
    });
  });
  const form = document.getElementById("rehearsal-form");
  const list = document.getElementById("rehearsal");
  const end = document.getElementById("rehearsal-end");
  const error = document.getElementById("rehearsal-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    list.replaceChildren();
    end.replaceChildren();
    post(form.action, { text: area.value, turns: form.elements.turns.value,
                        locale: form.elements.locale.value }).then(function (answer) {
      if (!answer.ok) { error.textContent = firstError(answer.body); return; }
      answer.body.lines.forEach(function (line) {
        const item = document.createElement("li");
        item.className = "rehearsal-" + line.kind;
        item.dataset.kind = line.kind;
        if (line.kind === "prompt") {
          item.dataset.prompt = line.prompt;
          item.textContent = "IVR says (" + line.prompt + "): " + line.text;
        } else if (line.kind === "step") {
          item.dataset.step = line.step;
          item.textContent = "step " + line.step + " (" + line.step_kind + ")";
        } else if (line.kind === "turn") {
          item.dataset.line = line.line;
          item.textContent = "caller " + line.text + (line.line ? " (line " + line.line + ")" : "");
        } else {
          item.textContent = "ends: " + line.text;
        }
        list.appendChild(item);
      });
      const result = answer.body.end;
      const summary = document.createElement("pre");
      summary.id = "rehearsal-route";
      summary.dataset.outcome = result.outcome;
      summary.textContent = result.outcome === "route"
        ? "queue " + result.queue + " (" + result.reason + ")\n" + JSON.stringify(result.call_data, null, 2)
        : "the flow hangs up";
      end.appendChild(summary);
      if (answer.body.unused_turns.length) {
        const note = document.createElement("p");
        note.className = "muted";
        note.textContent = "Not used (the call had ended): lines " + answer.body.unused_turns.join(", ");
        end.appendChild(note);
      }
    });
  });
})();
