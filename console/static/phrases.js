// Watched phrases: add and remove through the JSON API (CSRF header), then reload the list.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const error = document.getElementById("phrase-error");

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      error.textContent = answer.error || "refused (" + response.status + ")";
      return false;
    }
    return true;
  }

  document.getElementById("add-phrase").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (await post("/supervisor/api/phrases", { locale: form.locale.value, phrase: form.phrase.value })) {
      window.location.reload();
    }
  });
  document.querySelectorAll("#phrases button.remove").forEach((button) => {
    button.addEventListener("click", async () => {
      if (await post("/supervisor/api/phrases/" + button.dataset.id + "/delete")) {
        button.closest("tr").remove();
      }
    });
  });
})();
