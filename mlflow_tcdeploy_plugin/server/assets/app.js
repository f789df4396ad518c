// The release pages' little JavaScript: start a release, scan or build a version, promote or roll back a
// rollout, and follow a release (or a scan, or a build) while it runs. Text is only ever set with textContent
// (values are user input).
"use strict";

const TERMINAL = new Set(["succeeded", "failed", "rolled_back", "interrupted", "paused"]);

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = false;
}

async function post(path, body) {
  const answer = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await answer.json().catch(() => ({ message: `HTTP ${answer.status}` }));
  if (!answer.ok) {
    throw new Error(data.message || `HTTP ${answer.status}`);
  }
  return data;
}

function optionsFrom(text) {
  const options = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    const at = trimmed.indexOf("=");
    if (at < 1) throw new Error(`Options are key=value lines, not ${JSON.stringify(trimmed)}`);
    options[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return options;
}

function releaseHref(id) {
  return `release?id=${encodeURIComponent(id)}`;
}

function wireReleaseForm() {
  const form = document.getElementById("start-release");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = (name) => form.elements[name].value.trim();
    try {
      const started = await post("api/releases", {
        model_uri: field("model_uri"),
        target: field("target"),
        name: field("name"),
        endpoint: field("endpoint") || null,
        options: optionsFrom(form.elements.options.value),
      });
      window.location.href = releaseHref(started.release);
    } catch (error) {
      showError(error.message);
    }
  });
}

function wireTaskButtons() {
  const settings = document.getElementById("task-options");
  if (!settings) return;
  settings.addEventListener("submit", (event) => event.preventDefault()); // its fields serve the buttons below
  for (const button of document.querySelectorAll("button[data-task]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const options = optionsFrom(settings.elements.options.value);
        const repository = settings.elements.image_repository.value.trim();
        if (button.dataset.task === "build" && repository) options.image_repository = repository;
        const started = await post("api/tasks", {
          task: button.dataset.task,
          model_uri: button.dataset.modelUri,
          options,
        });
        window.location.href = releaseHref(started.release);
      } catch (error) {
        showError(error.message);
        button.disabled = false;
      }
    });
  }
}

function wireRolloutButtons() {
  const release = document.getElementById("release");
  for (const button of document.querySelectorAll("button[data-rollout]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await post("api/rollout", { release: release.dataset.id, action: button.dataset.rollout });
        release.dataset.status = "running";
        follow(release);
      } catch (error) {
        showError(error.message);
        button.disabled = false;
      }
    });
  }
}

function renderStages(stages) {
  const body = document.getElementById("stages");
  body.replaceChildren();
  for (const stage of stages) {
    const row = body.insertRow();
    row.insertCell().textContent = stage.stage;
    const status = row.insertCell();
    status.textContent = stage.status;
    status.className = `status ${stage.status}`;
    row.insertCell().textContent = stage.seconds == null ? "" : stage.seconds.toFixed(1);
  }
}

async function follow(release) {
  const answer = await fetch(`api/release?id=${encodeURIComponent(release.dataset.id)}`, { credentials: "same-origin" });
  if (!answer.ok) {
    showError(`The release cannot be read (HTTP ${answer.status}).`);
    return;
  }
  const current = await answer.json();
  document.getElementById("status").textContent = current.status;
  document.getElementById("status").className = `status ${current.status}`;
  document.getElementById("stage").textContent = current.stage;
  document.getElementById("reason").textContent = current.reason;
  renderStages(current.stages);
  if (TERMINAL.has(current.status)) {
    window.location.reload(); // the findings, evidence and actions of the final state are rendered by the server
    return;
  }
  setTimeout(() => follow(release), 1500);
}

document.addEventListener("DOMContentLoaded", () => {
  wireReleaseForm();
  wireTaskButtons();
  wireRolloutButtons();
  const release = document.getElementById("release");
  if (release && !TERMINAL.has(release.dataset.status)) {
    setTimeout(() => follow(release), 1500);
  }
});
