// A photo picker (drag-and-drop or file input) and a photo with face boxes drawn over it.
import { h, s } from "./dom.js";

// A drop zone with a file input; calls onFile(file) for the photo dropped or chosen.
export function picker(label, onFile) {
  const input = h("input", { type: "file", accept: "image/jpeg,image/png", onchange: () => input.files[0] && onFile(input.files[0]) });
  const zone = h("div", { class: "drop" }, h("label", null, `${label}: drop a photo here or `, input));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) onFile(event.dataTransfer.files[0]);
  });
  return zone;
}

// Resolves to {figure, overlay} once `file` is shown; the overlay's user units are the image's pixels.
export function photo(file) {
  const image = h("img", { src: URL.createObjectURL(file), alt: file.name });
  const overlay = s("svg", { preserveAspectRatio: "none" });
  return new Promise((resolve, reject) => {
    image.onload = () => {
      overlay.setAttribute("viewBox", `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
      resolve({ figure: h("figure", { class: "photo" }, image, overlay), overlay, width: image.naturalWidth, height: image.naturalHeight });
    };
    image.onerror = () => reject(new Error(`${file.name} is not an image the browser can show`));
  });
}

// Draws a BoundingBox (ratios of the image, as the API returns them) with a label; returns the rect.
export function drawBox(shown, box, label, className = "face") {
  const [x, y] = [box.Left * shown.width, box.Top * shown.height];
  const rect = s("rect", { class: className, x, y, width: box.Width * shown.width, height: box.Height * shown.height });
  shown.overlay.append(rect, s("text", { x: x + 3, y: y - 4, "font-size": Math.max(12, shown.height / 40) }, label));
  return rect;
}

// Draws Landmarks ({Type, X, Y} with X, Y ratios of the image) as dots.
export function drawLandmarks(shown, landmarks) {
  const radius = Math.max(shown.width, shown.height) / 250;
  for (const mark of landmarks ?? []) {
    shown.overlay.append(s("circle", { class: "landmark", cx: mark.X * shown.width, cy: mark.Y * shown.height, r: radius },
      s("title", null, mark.Type)));
  }
}
