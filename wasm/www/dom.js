// Page-wide DOM helpers: an element by id, and the form's message areas
// (the error alert, the warnings list, the screen-reader announcements).

export const $ = (id) => document.getElementById(id);

/** Shows the error alert (one message; the test contract waits for it). */
export function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = false;
}

/** Says `text` to screen readers (the polite live region). */
export function announce(text) {
  $('announce').textContent = text;
}

/** Hides the error and empties the warnings. */
export function clearMessages() {
  $('error').hidden = true;
  $('error').textContent = '';
  $('warnings').replaceChildren();
  $('warnings').hidden = true;
}

export function addWarning(message) {
  const li = document.createElement('li');
  li.textContent = message;
  $('warnings').append(li);
  $('warnings').hidden = false;
}
