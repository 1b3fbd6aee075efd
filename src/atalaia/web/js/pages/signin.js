// Sign in with the API token. The token goes to POST /api/session once, which answers with an
// HttpOnly cookie; nothing is kept in localStorage or anywhere a script could read it.
import { session } from "../api.js";
import { checkbox, field, h, replace } from "../dom.js";
import { logo } from "../icons.js";
import { notice } from "../ui.js";

export const title = "Sign in";

export function mount(root, { message, onSignedIn }) {
  const token = h("input", {
    type: "password",
    name: "token",
    autocomplete: "current-password",
    required: true,
    spellcheck: false,
  });
  // Lets a password manager file the token under one name for this console.
  const user = h("input", { type: "text", name: "username", autocomplete: "username", value: "atalaia", hidden: true, tabindex: -1, "aria-hidden": "true" });
  const remember = checkbox("Keep me signed in on this device for 30 days", false, { name: "remember" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");
  const feedback = h("div", { class: "signin-feedback", "aria-live": "polite" }, message ? notice(message, "info") : null);

  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    user,
    field("API token", token, "Printed once on the console at first start, or set as server.token in the configuration."),
    remember.el,
    feedback,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (!value) {
      replace(feedback, notice("Enter the API token."));
      token.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await session.signIn(value, remember.input.checked);
      onSignedIn();
    } catch (error) {
      const text = error.status === 401 ? "That token is not valid. Check it and try again." : error.message;
      replace(feedback, notice(text));
      token.setAttribute("aria-invalid", "true");
      token.select();
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });

  replace(
    root,
    h(
      "div",
      { class: "signin" },
      h(
        "section",
        { class: "signin-card", "aria-labelledby": "signin-title" },
        h("div", { class: "signin-brand" }, logo(40), h("span", { class: "brand-name" }, "atalaia")),
        h("h1", { id: "signin-title" }, "Sign in to the console"),
        h("p", { class: "subtitle" }, "Live cameras, alerts and the state of every part of the service."),
        form,
      ),
      h("p", { class: "signin-foot" }, "Self-hosted video analytics · ", h("a", { href: "/docs" }, "API reference")),
    ),
  );
  token.focus();
  return () => {};
}
