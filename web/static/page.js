// The look-up and /compare pages work without this script (a plain form post). With it: a photo is sent as soon
// as it is chosen, or dropped anywhere on the page; a file over the size limit is refused before it is sent;
// and the page shows that it is working until the answer comes.
"use strict";

function showError(message) {
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.textContent = message;
  document.getElementById("answer").replaceChildren(error);
}

function setUp(form) {
  const inputs = Array.from(form.querySelectorAll("input[type=file]"));
  const button = form.querySelector("button");
  const progress = form.querySelector(".progress");
  const maxBytes = Number(form.dataset.maxBytes);
  const autoSubmit = "autoSubmit" in form.dataset;
  const filled = () => inputs.every((input) => input.files.length > 0);

  form.addEventListener("submit", (event) => {
    const files = inputs.flatMap((input) => Array.from(input.files));
    if (files.some((file) => file.size > maxBytes)) {
      event.preventDefault();
      showError(form.dataset.tooLarge);
      return;
    }
    document.getElementById("answer").replaceChildren();
    progress.hidden = false;
    button.disabled = true;
    form.classList.add("working");
  });

  if (autoSubmit) {
    inputs[0].addEventListener("change", () => {
      if (inputs[0].files.length > 0) form.requestSubmit();
    });
  }

  // Photos dropped on the page fill the empty inputs in order (the first one again when none is empty).
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    const files = Array.from(event.dataTransfer.files);
    if (files.length === 0) return;
    let targets = inputs.filter((input) => input.files.length === 0);
    if (targets.length === 0) targets = inputs;
    files.slice(0, targets.length).forEach((file, index) => {
      const transfer = new DataTransfer();
      transfer.items.add(file);
      targets[index].files = transfer.files;
    });
    if (autoSubmit || filled()) form.requestSubmit();
  });

  // Back to a page kept by the browser: ready for the next photo again.
  window.addEventListener("pageshow", () => {
    progress.hidden = true;
    button.disabled = false;
    form.classList.remove("working");
  });
}

document.querySelectorAll("form.upload").forEach(setUp);
