// Each face of a photo as an image of its own, in the browser: for searching every face of a group
// photo with SearchFacesByImage / SearchUsersByImage (they search an image's largest face), and for
// showing a face of a photo the user picked. The same rule as `rekollect search`
// (src/rekollect/tools/regions.py): a region MARGIN times the face's size wider on each side, the
// other faces' boxes painted grey (the face itself kept whole), scaled so the face is at least
// MIN_FACE pixels wide and the region at most MAX_SIDE, encoded as JPEG.
const MARGIN = 0.5;
const MIN_FACE = 100;
const MAX_SIDE = 1600;
const THUMB = 96; // side of a face thumbnail, CSS pixels

// The upright photo decoded (browsers apply the EXIF orientation, as the API does before measuring boxes).
export function loadImage(file) {
  const image = new Image();
  image.src = URL.createObjectURL(file);
  return image.decode().then(() => image, () => { throw new Error(`${file.name} is not an image the browser can show`); });
}

// A BoundingBox (ratios) in pixels of `image`: [left, top, right, bottom].
export function pixelBox(image, box) {
  const left = box.Left * image.naturalWidth, top = box.Top * image.naturalHeight;
  return [left, top, left + box.Width * image.naturalWidth, top + box.Height * image.naturalHeight];
}

function regionOf(image, [left, top, right, bottom]) {
  const dx = MARGIN * (right - left), dy = MARGIN * (bottom - top);
  return [Math.max(0, left - dx), Math.max(0, top - dy), Math.min(image.naturalWidth, right + dx), Math.min(image.naturalHeight, bottom + dy)]
    .map(Math.round);
}

// Resolves to {blob (JPEG), region (pixels)} of face `index` of `faces` (pixel boxes of `image`).
export function faceRegion(image, faces, index) {
  const region = regionOf(image, faces[index]);
  const [x0, y0, x1, y1] = region;
  const own = faces[index].map(Math.round);
  const width = Math.max(1, own[2] - own[0]);
  const scale = Math.min(Math.max(1, MIN_FACE / width), MAX_SIDE / Math.max(x1 - x0, y1 - y0));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round((x1 - x0) * scale));
  canvas.height = Math.max(1, Math.round((y1 - y0) * scale));
  const context = canvas.getContext("2d");
  context.scale(scale, scale);
  context.drawImage(image, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
  context.fillStyle = "rgb(128, 128, 128)";
  faces.forEach(([left, top, right, bottom], number) => {
    if (number !== index) context.fillRect(left - x0, top - y0, right - left, bottom - top);
  });
  context.drawImage(image, own[0], own[1], own[2] - own[0], own[3] - own[1], own[0] - x0, own[1] - y0, own[2] - own[0], own[3] - own[1]);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve({ blob, region }), "image/jpeg", 0.95));
}

// Whether `searched` (a BoundingBox in ratios of `region`) lies on `face` (pixels of the photo): IoU ≥ 0.3.
export function sameFace(searched, region, face) {
  const width = region[2] - region[0], height = region[3] - region[1];
  const left = region[0] + searched.Left * width, top = region[1] + searched.Top * height;
  const found = [left, top, left + searched.Width * width, top + searched.Height * height];
  const overlapW = Math.min(found[2], face[2]) - Math.max(found[0], face[0]);
  const overlapH = Math.min(found[3], face[3]) - Math.max(found[1], face[1]);
  if (overlapW <= 0 || overlapH <= 0) return false;
  const inter = overlapW * overlapH;
  const union = (found[2] - found[0]) * (found[3] - found[1]) + (face[2] - face[0]) * (face[3] - face[1]) - inter;
  return inter / union >= 0.3;
}

// A square thumbnail of a face of `image` (its BoundingBox in ratios), with a little context around it.
export function faceThumb(image, box) {
  const [left, top, right, bottom] = pixelBox(image, box);
  const side = 1.3 * Math.max(right - left, bottom - top);
  const [cx, cy] = [(left + right) / 2, (top + bottom) / 2];
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.className = "face-picture from-photo";
  canvas.width = canvas.height = Math.round(THUMB * ratio);
  canvas.getContext("2d").drawImage(image, cx - side / 2, cy - side / 2, side, side, 0, 0, canvas.width, canvas.height);
  return canvas;
}
