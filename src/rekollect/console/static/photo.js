// Pickers (drag-and-drop or file inputs: one photo, many photos, a folder, a video) and a photo with
// face boxes drawn over it.
import { h, s } from "./dom.js";

const IMAGE_TYPES = "image/jpeg,image/png";
const IMAGE_NAME = /\.(jpe?g|png)$/i;

// A drop zone with a file input; calls onFile(file) for the file dropped or chosen.
export function picker(label, onFile, accept = IMAGE_TYPES) {
  const input = h("input", { type: "file", accept, onchange: () => input.files[0] && onFile(input.files[0]) });
  return dropZone(h("label", null, `${label}: drop it here or `, input), (files) => files[0] && onFile(files[0]));
}

// A drop zone for many photos or whole folders (walked recursively; names starting with "." skipped, only
// .jpg/.jpeg/.png kept, as `rekollect index` does); calls onFiles([{file, path}]) in name order.
export function photosPicker(onFiles) {
  const chosen = (input) => () => {
    onFiles(sorted([...input.files].filter(isPhoto).map((file) => ({ file, path: file.webkitRelativePath || file.name }))));
    input.value = "";
  };
  const files = h("input", { type: "file", name: "photos", accept: IMAGE_TYPES, multiple: true });
  const folder = h("input", { type: "file", name: "folder", webkitdirectory: true, multiple: true });
  files.addEventListener("change", chosen(files));
  folder.addEventListener("change", chosen(folder));
  const zone = dropZone(
    h("div", null, "Drop photos or a folder here, or ", h("label", null, "choose photos ", files), " or ",
      h("label", null, "a folder ", folder)),
    null);
  zone.addEventListener("drop", async (event) => {
    const entries = [...event.dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    const found = entries.length
      ? (await Promise.all(entries.map((entry) => walk(entry, "")))).flat()
      : [...event.dataTransfer.files].filter(isPhoto).map((file) => ({ file, path: file.name }));
    onFiles(sorted(found));
  });
  return zone;
}

function isPhoto(file) {
  return IMAGE_NAME.test(file.name) && !file.name.startsWith(".") && !(file.webkitRelativePath || "").split("/").some((part) => part.startsWith("."));
}

const sorted = (found) => found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

// Every photo under a dropped file or folder entry, with its path.
async function walk(entry, prefix) {
  if (entry.name.startsWith(".")) return [];
  if (entry.isFile) {
    if (!IMAGE_NAME.test(entry.name)) return [];
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, path: prefix + entry.name }];
  }
  const reader = entry.createReader();
  const children = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    children.push(...batch);
  }
  return (await Promise.all(children.map((child) => walk(child, `${prefix}${entry.name}/`)))).flat();
}

// A drop zone around `content`; onDrop(files) for a drop (null: the caller listens itself).
function dropZone(content, onDrop) {
  const zone = h("div", { class: "drop" }, content);
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (onDrop) onDrop([...event.dataTransfer.files]);
  });
  return zone;
}

// {figure, overlay, width, height} for a decoded image; the overlay's user units are the image's pixels.
export function figure(image, alt) {
  const shown = h("img", { src: image.src, alt });
  const overlay = s("svg", { preserveAspectRatio: "none", viewBox: `0 0 ${image.naturalWidth} ${image.naturalHeight}` });
  return { figure: h("figure", { class: "photo" }, shown, overlay), overlay, width: image.naturalWidth, height: image.naturalHeight };
}

// Draws a BoundingBox (ratios of the image, as the API returns them) with a label; returns the rect.
export function drawBox(shown, box, label, className = "face") {
  const [x, y] = [box.Left * shown.width, box.Top * shown.height];
  const rect = s("rect", { class: className, x, y, width: box.Width * shown.width, height: box.Height * shown.height });
  const size = Math.max(12, shown.height / 40);
  shown.overlay.append(rect, s("text", { x: x + 3, y: y > size ? y - 4 : y + box.Height * shown.height + size, "font-size": size }, label));
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
