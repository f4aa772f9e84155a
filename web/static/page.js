// The look-up and /compare pages work without this script (a plain form post and a new page). With it: a photo
// is sent as soon as it is chosen, or dropped anywhere on the page; a file over the size limit is refused before
// it is sent; the page shows that it is working; and the answer replaces the previous one in place (the form's
// own answer, the same HTML as without the script).
"use strict";

function showAnswer(nodes) {
  document.getElementById("answer").replaceChildren(...nodes);
}

function errorNode(message) {
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.textContent = message;
  return error;
}

function setUp(form) {
  const inputs = Array.from(form.querySelectorAll("input[type=file]"));
  const button = form.querySelector("button");
  const progress = form.querySelector(".progress");
  const maxBytes = Number(form.dataset.maxBytes);
  const autoSubmit = "autoSubmit" in form.dataset;

  function working(on) {
    progress.hidden = !on;
    button.disabled = on;
    form.classList.toggle("working", on);
  }

  async function send() {
    const files = inputs.flatMap((input) => Array.from(input.files));
    if (files.some((file) => file.size > maxBytes)) {
      showAnswer([errorNode(form.dataset.tooLarge)]);
      return;
    }
    const body = new FormData(form);
    if (autoSubmit) inputs.forEach((input) => { input.value = ""; });  // the same photo can be chosen again
    showAnswer([]);
    working(true);
    try {
      const response = await fetch(form.action, { method: "POST", body });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const answer = page.getElementById("answer");
      showAnswer(answer ? Array.from(answer.childNodes) : [errorNode(form.dataset.failed)]);
    } catch (error) {
      showAnswer([errorNode(form.dataset.failed)]);
    } finally {
      working(false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  if (autoSubmit) {
    inputs[0].addEventListener("change", () => {
      if (inputs[0].files.length > 0) send();
    });
  }

  // Photos dropped on the page fill the empty inputs in order (the first one again when none is empty); the
  // look-up page sends its photo at once, /compare once every input has one.
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
    if (autoSubmit || inputs.every((input) => input.files.length > 0)) send();
  });
}

document.querySelectorAll("form.upload").forEach(setUp);
