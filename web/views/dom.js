/** Small helpers that build and change DOM elements without HTML strings. */

/**
 * Creates a `tag` element with `attributes` (`className`, `text`, `dataset`, and any other
 * attribute by name; false or undefined leaves one out) and appends `children`.
 */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);

  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'className') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));

  return node;
}

/** Shows `node` when `visible` is true and hides it from everyone, screen readers too. */
export function setVisible(node, visible) {
  node.hidden = !visible;
}

/** Says `message` through the page's polite live region. */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;

  // A changed text node is what screen readers announce; the same text twice is cleared first.
  region.textContent = '';
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** The error shown for each part of the page, so that one part clears only its own. */
const errors = new Map();

/**
 * Shows `message` in the page's alert region as the error of `source` (a name for the part of
 * the page), or clears that error when `message` is empty.
 */
export function showError(source, message) {
  if (message) errors.set(source, message);
  else errors.delete(source);

  const region = document.getElementById('page-error');
  if (!region) return;
  region.textContent = [...errors.values()].join(' ');
  setVisible(region, errors.size > 0);
}

/**
 * Enables or disables `button` with aria-disabled instead of `disabled`, because a disabled
 * button drops the keyboard focus when it was the one focused. Click handlers check
 * `isEnabled` first.
 */
export function setEnabled(button, enabled) {
  button.setAttribute('aria-disabled', String(!enabled));
}

/** Returns false for a button that `setEnabled` disabled. */
export function isEnabled(button) {
  return button.getAttribute('aria-disabled') !== 'true';
}
