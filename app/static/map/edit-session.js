/* The map's edit mode, part 1: the "Edit" section of the panel and signing in. A personal API token is checked with
   GET /me and kept in sessionStorage (this tab only, gone when it closes); every call then carries it as a Bearer
   token. Announces who is signed in with the `lapis:session` event ({ user, role }) that the editing, upload and
   proposal parts listen to; window.lapisEdit holds the shared state (tests read it too). */
(function () {
  "use strict";

  const ROLES = ["anonymous", "viewer", "editor", "approver", "admin"];
  const edit = {
    session: { user: null, role: "anonymous" },
    atLeast: (role) => ROLES.indexOf(edit.session.role) >= ROLES.indexOf(role),
    error: null,
  };
  window.lapisEdit = edit;
  const $ = (sel) => document.querySelector(sel);
  const text = () => window.lapisEditText;

  function buildSection() {
    const section = document.createElement("section");
    section.id = "edit";
    section.innerHTML = `
      <h2 data-edit="title"></h2>
      <form id="edit-signin" autocomplete="off">
        <label class="row"><span data-edit="token"></span><br>
          <input type="password" id="edit-token" autocomplete="off" spellcheck="false"></label>
        <button type="submit" id="edit-signin-button" data-edit="signIn"></button>
        <p class="error" id="edit-signin-error" role="alert"></p>
      </form>
      <div id="edit-session" hidden>
        <p class="who"><span data-edit="signedIn"></span> <b id="edit-user"></b> (<span id="edit-role"></span>)
          <button type="button" id="edit-signout" data-edit="signOut"></button></p>
        <p class="hint" id="edit-viewer-only" data-edit="viewerOnly" hidden></p>
        <div id="edit-tools" hidden></div>
      </div>`;
    const note = $("#panel .note");
    note.parentNode.insertBefore(section, note);
    $("#edit-signin").addEventListener("submit", (e) => { e.preventDefault(); signIn($("#edit-token").value.trim()); });
    $("#edit-signout").addEventListener("click", signOut);
  }

  function announce() {
    render();
    document.dispatchEvent(new CustomEvent("lapis:session", { detail: { ...edit.session } }));
  }

  async function signIn(token) {
    edit.error = null;
    if (!token) return;
    try {
      const me = await window.lapisApi.signIn(token);
      edit.session = { user: me.user, role: me.role };
      $("#edit-token").value = "";
    } catch (err) {
      edit.error = err.status === 401 ? text().t("badToken") : `${text().t("failed")}: ${err.message}`;
      edit.session = { user: null, role: "anonymous" };
    }
    announce();
  }

  function signOut() {
    window.lapisApi.signOut();
    edit.session = { user: null, role: "anonymous" };
    edit.error = null;
    announce();
  }

  /* A token kept from earlier in this tab signs in again by itself (or is dropped, if no longer valid). */
  async function restore() {
    if (!window.lapisApi.token()) return;
    try {
      const me = await window.lapisApi.me();
      if (me.user) { edit.session = { user: me.user, role: me.role }; announce(); return; }
    } catch (err) {
      if (err.status !== 401) { edit.error = `${text().t("failed")}: ${err.message}`; render(); return; }
    }
    signOut();
  }

  function render() {
    const section = $("#edit");
    text().translate(section);
    const signedIn = Boolean(edit.session.user);
    $("#edit-signin").hidden = signedIn;
    $("#edit-session").hidden = !signedIn;
    $("#edit-signin-error").textContent = edit.error || "";
    $("#edit-user").textContent = edit.session.user || "";
    $("#edit-role").textContent = edit.session.role;
    $("#edit-viewer-only").hidden = !signedIn || edit.atLeast("editor");
    $("#edit-tools").hidden = !edit.atLeast("editor");
    section.dataset.role = edit.session.role;
  }

  function start() {
    buildSection();
    render();
    for (const b of document.querySelectorAll("[data-lang]")) {
      b.addEventListener("click", () => setTimeout(() => {
        render();
        document.dispatchEvent(new CustomEvent("lapis:lang"));
      }, 0));
    }
    restore();
  }

  edit.signIn = signIn;
  edit.signOut = signOut;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
