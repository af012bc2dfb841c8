/**
 * The form that requests an API key when the API returns 401. While it is on screen the rest
 * of the page is hidden, because no request can succeed without a key.
 */
import { setEnabled, setVisible } from './dom.js';

/** Characters that the API accepts in a key: printable ASCII without spaces. */
const keyPattern = /^[\x21-\x7e]+$/;

export class KeyForm {
  #section = document.getElementById('api-key');
  #form = document.getElementById('api-key-form');
  #input = document.getElementById('api-key-input');
  #submit = document.getElementById('api-key-submit');
  #problem = document.getElementById('api-key-problem');
  #main = document.querySelector('main');
  /** Resolves the pending `ask` with the key entered. */
  #resolve;

  constructor() {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#onSubmit();
    });
  }

  /** Shows the form with `problem` (or none) and resolves with the next key entered. */
  ask(problem) {
    this.#showProblem(problem);
    this.#form.removeAttribute('aria-busy');
    setEnabled(this.#submit, true);
    setVisible(this.#main, false);
    setVisible(this.#section, true);
    this.#input.focus();
    this.#input.select();

    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Hides the form and shows the page again. */
  close() {
    this.#resolve = undefined;
    this.#input.value = '';
    this.#showProblem(undefined);
    setVisible(this.#section, false);
    setVisible(this.#main, true);
  }

  #onSubmit() {
    if (!this.#resolve) return;

    const key = this.#input.value.trim();
    if (!keyPattern.test(key)) {
      const problem = key
        ? 'An API key contains only ASCII letters, digits and punctuation, with no spaces.'
        : 'Enter your API key.';
      this.#showProblem(problem);
      this.#input.focus();
      return;
    }

    // The form stays on screen, busy, until the session has checked the key with the API.
    this.#form.setAttribute('aria-busy', 'true');
    setEnabled(this.#submit, false);
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve(key);
  }

  #showProblem(problem) {
    // The alert region stays in the page, empty, so that screen readers announce new text.
    this.#problem.textContent = problem ?? '';
    this.#input.setAttribute('aria-invalid', String(Boolean(problem)));
  }
}
