// A camera simulated in the page for the Face Liveness console tests (added as an init script by
// tests/test_liveness_console.py, after `window.__scene = {mode, photo, eyes, nose, ocular, replay}`).
//
// getUserMedia answers with a 640x480, 30 frame/s canvas stream of a real face photo. The scene
// reads the oval from the server's first event (the stream's ServerSessionInformationEvent, decoded
// here from its event-stream frame) and, as a person would:
// - live: waits, small and off the oval, until the component sends its first
//   ClientSessionInformationEvent (the oval is drawn, the recording runs), then comes closer into the
//   oval in 1.2 s and, as a person finds the oval, sways 10 % nearer and farther and 60 pixels aside
//   until the component says "Hold still" (its face detector does not place the face exactly where
//   dlib's landmarks here do), then holds still;
//   while the component flashes its colours the face is lit by the colour it shows (the mean of
//   its colour canvas), as a screen lights a face;
// - replay: moves the same way, lit by the colours recorded in an earlier live run (window.__scene.replay);
// - still: a photo held in the oval from the start, never lit, as large as the component lets a face
//   be before it records (its distance check: half the ocular width under 0.4 of its 288-pixel start oval);
// - never: stays small and off the oval.
// window.__lighting collects [ms since the first colour, r, g, b] of a live run (what a replay replays).
(() => {
  const scene = window.__scene;
  const W = 640, H = 480;
  const canvas = document.createElement("canvas");
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const photo = new Image();
  photo.src = scene.photo;
  const probe = document.createElement("canvas");
  probe.width = probe.height = 8;
  const probeCtx = probe.getContext("2d", { willReadFrequently: true });
  let oval = null, moveStart = null, colourStart = null, sway = 1, drift = 0, held = false;
  window.__lighting = [];
  window.__hints = [];

  function eventOf(data) {
    const bytes = new Uint8Array(data);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const total = view.getUint32(0), headers = view.getUint32(4);
    return JSON.parse(new TextDecoder().decode(bytes.slice(12 + headers, total - 4)));
  }
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try {
          const challenge = eventOf(event.data).SessionInformation?.Challenge;
          if (challenge) oval = Object.values(challenge)[0].OvalParameters;
        } catch { /* not the session information */ }
      });
    }
    send(data) {
      const text = new TextDecoder().decode(data);
      if (moveStart === null && text.includes("InitialFace")) moveStart = performance.now();
      if (colourStart === null && text.includes("ColorDisplayed")) colourStart = performance.now();
      return super.send(data);
    }
  };

  function screenColour() {
    const overlay = document.querySelector(".amplify-liveness-freshness-canvas");
    if (!overlay || overlay.style.display !== "block" || !overlay.width) return null;
    probeCtx.clearRect(0, 0, 8, 8);
    probeCtx.drawImage(overlay, 0, 0, 8, 8);
    const pixels = probeCtx.getImageData(0, 0, 8, 8).data;
    const sum = [0, 0, 0];
    let weight = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const alpha = pixels[i + 3] / 255;
      for (let c = 0; c < 3; c++) sum[c] += pixels[i + c] * alpha;
      weight += alpha;
    }
    return weight ? sum.map((value) => value / weight) : null;
  }

  function lightAt(now) {
    if (scene.mode === "live") {
      const colour = screenColour();
      if (colour && colourStart !== null) window.__lighting.push([now - colourStart, ...colour]);
      return colour;
    }
    if (scene.mode === "replay" && colourStart !== null) {
      const since = now - colourStart;
      let last = null;
      for (const [at, ...colour] of scene.replay) if (at <= since) last = colour;
      return since <= scene.replay[scene.replay.length - 1][0] ? last : null;
    }
    return null;
  }

  function draw() {
    const now = performance.now();
    const hint = [...document.querySelectorAll(".amplify-liveness-toast__message, .amplify-liveness-hint__text")].map((e) => e.textContent).join("|");
    if (window.__hints.at(-1)?.[1] !== hint) window.__hints.push([Math.round(now), hint, Math.round(sway * 100), Math.round(drift)]);
    held = held || hint.includes("Hold still") || colourStart !== null;
    ctx.globalCompositeOperation = "source-over";
    ctx.fillStyle = "rgb(90,90,90)";
    ctx.fillRect(0, 0, W, H);
    if (!photo.complete || !oval) return;
    let finalScale = (0.9 * oval.Width) / scene.ocular;
    if (scene.mode === "still") finalScale = Math.min(finalScale, 180 / scene.ocular);
    const startScale = 0.55 * finalScale;
    // The component matches the mirrored picture: the oval's centre is at W - CenterX on the camera's frame.
    const targetX = W - oval.CenterX, targetY = oval.CenterY;
    const startX = targetX + 60, startY = targetY + 10;
    let progress = 0;
    if (scene.mode === "still") progress = 1;
    else if ((scene.mode === "live" || scene.mode === "replay") && moveStart !== null) progress = Math.min(1, (now - moveStart) / 1200);
    if (progress === 1 && moveStart !== null && !held) {
      sway = 1 + 0.1 * Math.sin((2 * Math.PI * (now - moveStart - 1200)) / 2600);
      drift = 60 * Math.sin((2 * Math.PI * (now - moveStart - 1200)) / 3000);
    }
    const scale = (startScale + (finalScale - startScale) * progress) * (scene.mode === "still" ? 1 : sway);
    const x = startX + (targetX - startX) * progress, y = startY + (targetY - startY) * progress;
    // (x, y) is where the component's face centre goes: between the eyes' centre and the nose tip.
    const anchorX = (scene.eyes[0] + scene.nose[0]) / 2, anchorY = (scene.eyes[1] + scene.nose[1]) / 2;
    const driftX = scene.mode === "still" ? 0 : drift;
    ctx.drawImage(photo, x + driftX - anchorX * scale, y - anchorY * scale, photo.width * scale, photo.height * scale);
    const light = lightAt(now);
    if (light) {
      ctx.globalCompositeOperation = "multiply";
      ctx.fillStyle = `rgb(${light.map((c) => Math.round(153 + 0.4 * c)).join(",")})`;
      ctx.fillRect(0, 0, W, H);
    } else if (scene.mode === "live" || scene.mode === "replay") {
      ctx.globalCompositeOperation = "multiply";
      ctx.fillStyle = "rgb(153,153,153)";
      ctx.fillRect(0, 0, W, H);
    }
  }
  setInterval(draw, 1000 / 30);

  const stream = canvas.captureStream(30);
  const track = stream.getVideoTracks()[0];
  const settings = { width: W, height: H, frameRate: 30, deviceId: "rekollect-canvas", groupId: "rekollect" };
  track.getSettings = () => settings;
  const device = { deviceId: "rekollect-canvas", groupId: "rekollect", kind: "videoinput", label: "Canvas camera", toJSON() { return this; } };
  navigator.mediaDevices.getUserMedia = async () => stream;
  navigator.mediaDevices.enumerateDevices = async () => [device];
})();
