// The session page's card scanner: the field keeps the focus, each answer beeps (unless muted).
(function () {
  "use strict";
  var field = document.getElementById("card");
  var mute = document.getElementById("mute");
  var answers = document.getElementById("scan-answer");
  if (!field || !answers) { return; }
  var audio = null;
  mute.checked = window.localStorage.getItem("tianjian-mute") === "1";
  mute.addEventListener("change", function () {
    window.localStorage.setItem("tianjian-mute", mute.checked ? "1" : "0");
    field.focus();
  });
  // Tones: one high beep for green, two middle ones for orange, one low long one for red.
  var TONES = { green: [[880, 0.15]], orange: [[660, 0.12], [660, 0.12]], red: [[220, 0.5]] };
  function beep(colour) {
    if (mute.checked || !TONES[colour]) { return; }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var at = audio.currentTime;
      TONES[colour].forEach(function (tone) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = tone[0];
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(at); osc.stop(at + tone[1]);
        at += tone[1] + 0.08;
      });
    } catch (e) { /* no sound on this browser: the colour still shows */ }
  }
  function announce() {
    var shown = answers.querySelector("[data-answer]");
    if (shown) { beep(shown.getAttribute("data-answer")); }
  }
  // Always ready for the next card: focus comes back unless the envoy is typing elsewhere.
  document.addEventListener("click", function (event) {
    var tag = event.target.tagName;
    if (tag !== "INPUT" && tag !== "SELECT" && tag !== "TEXTAREA" && tag !== "A" && tag !== "BUTTON") {
      field.focus();
    }
  });
  field.addEventListener("blur", function () {
    window.setTimeout(function () {
      var active = document.activeElement;
      if (!active || active === document.body) { field.focus(); }
    }, 0);
  });
  // Each scan empties the field for the next card (here, not inline: the CSP runs no inline script).
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = document.getElementById("scan-form");
    if (form && event.detail && event.detail.elt === form) {
      form.reset();
      field.focus();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target === answers) { announce(); }
  });
  announce();
  field.focus();
})();
