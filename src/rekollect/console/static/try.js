// #/try: every face of a photo, found and described (DetectFaces, Attributes ALL), and, with a
// collection chosen, identified: each face's own region of the photo (regions.js) searched among the
// collection's users (SearchUsersByImage) and faces (SearchFacesByImage), its box labelled with its
// best user, else the ExternalImageId of its best face, and the Similarity. The search of one face
// and its DetectFaces description are shown together, in one card.
import { call, explain, imageBytes } from "./api.js";
import { collectionSelect } from "./collections.js";
import { add, errorBox, h, put, table } from "./dom.js";
import { drawBox, drawLandmarks, figure, picker } from "./photo.js";
import { Pictures } from "./pictures.js";
import { faceRegion, faceThumb, loadImage, pixelBox, sameFace } from "./regions.js";

const MAX_FACE_MATCHES = 5;
const SEARCHES_IN_FLIGHT = 3;
const percent = (value) => `${value.toFixed(1)} %`;

// The main attributes of a FaceDetail, one line each.
function attributes(face) {
  const lines = [`Confidence ${percent(face.Confidence)}`];
  if (face.AgeRange) lines.push(`Age ${face.AgeRange.Low}–${face.AgeRange.High}`);
  if (face.Gender) lines.push(`${face.Gender.Value} (${percent(face.Gender.Confidence)})`);
  const emotion = face.Emotions?.toSorted((a, b) => b.Confidence - a.Confidence)[0];
  if (emotion) lines.push(`Emotion ${emotion.Type} (${percent(emotion.Confidence)})`);
  for (const name of ["Smile", "EyesOpen", "MouthOpen"]) {
    if (face[name]) lines.push(`${name} ${face[name].Value} (${percent(face[name].Confidence)})`);
  }
  if (face.Pose) lines.push(`Pose yaw ${face.Pose.Yaw.toFixed(0)}°, pitch ${face.Pose.Pitch.toFixed(0)}°, roll ${face.Pose.Roll.toFixed(0)}°`);
  if (face.Quality) lines.push(`Sharpness ${face.Quality.Sharpness.toFixed(0)}, brightness ${face.Quality.Brightness.toFixed(0)}`);
  return lines;
}

// Runs `work(item, index)` over `items`, `limit` at a time; resolves to the results in order.
async function limited(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  }));
  return results;
}

// {users, faces, error} for face `index`: the collection's matches of that face alone.
async function identify(collectionId, image, boxes, index) {
  const { blob, region } = await faceRegion(image, boxes, index);
  const bytes = await imageBytes(blob);
  const [users, faces] = await Promise.all([
    call("SearchUsersByImage", { CollectionId: collectionId, Image: { Bytes: bytes }, MaxUsers: 1 }),
    call("SearchFacesByImage", { CollectionId: collectionId, Image: { Bytes: bytes }, MaxFaces: MAX_FACE_MATCHES }).catch((error) => {
      if (error.noFace) return null;
      throw error;
    }),
  ]);
  if (!faces || !sameFace(faces.SearchedFaceBoundingBox, region, boxes[index])) {
    return { users: [], faces: [], error: "not found again in its own region of the photo" };
  }
  return { users: users.UserMatches, faces: faces.FaceMatches };
}

// The best name of a face ({label, similarity}) or null: its user, else its best face's ExternalImageId (else FaceId).
function bestName(found) {
  if (found?.users.length) return { label: found.users[0].User.UserId, similarity: found.users[0].Similarity, kind: "user" };
  if (found?.faces.length) {
    const face = found.faces[0].Face;
    return { label: face.ExternalImageId ?? face.FaceId, similarity: found.faces[0].Similarity, kind: "face" };
  }
  return null;
}

function faceCard(number, detail, image, found, pictures) {
  const best = bestName(found);
  const identity = found === undefined ? null
    : best ? h("div", { class: "identity" }, h("strong", { class: "best-name" }, best.label),
      ` ${best.kind === "user" ? "(user)" : "(ExternalImageId)"}, Similarity `, h("span", { class: "similarity" }, best.similarity.toFixed(1)))
      : h("div", { class: "identity unknown" }, found.error ?? "Not in the collection (no match at the threshold, 80)");
  const match = found?.faces[0]?.Face;
  return h("div", { class: "face-card", "data-face": number },
    h("div", { class: "pictures" }, faceThumb(image, detail.BoundingBox), match && pictures.faces.get(match.FaceId)
      ? h("img", { class: "face-picture match-picture", src: pictures.faces.get(match.FaceId), alt: `stored face ${match.FaceId}` }) : null),
    h("h3", null, `Face ${number}`),
    identity,
    found?.faces.length ? table(["ExternalImageId", "FaceId", "Similarity"],
      found.faces.map((m) => [m.Face.ExternalImageId ?? "", m.Face.FaceId.slice(0, 8), m.Similarity]), { class: "face-matches" }) : null,
    h("details", { open: found === undefined }, h("summary", null, "Attributes"), attributes(detail).map((line) => h("div", null, line))));
}

async function analyse(file, collectionId, results, context) {
  put(results, h("p", { class: "loading" }, `Analysing ${file.name}…`));
  const [image, bytes] = await Promise.all([loadImage(file), imageBytes(file)]);
  const { FaceDetails: faces } = await call("DetectFaces", { Image: { Bytes: bytes }, Attributes: ["ALL"] });
  const shown = figure(image, file.name);
  if (!faces.length) {
    put(results, h("p", { id: "face-count", class: "notice no-face" },
      `No face was found in ${file.name}. Faces need to be at least 40 pixels wide, and turned less than about 90° from the camera.`), shown.figure);
    return;
  }
  const boxes = faces.map((face) => pixelBox(image, face.BoundingBox));
  const pictures = new Pictures(collectionId);
  let found = [];
  if (collectionId) {
    add(results, h("p", { class: "loading" }, `Searching ${collectionId} for each of the ${faces.length} face(s)…`));
    found = await limited(faces, SEARCHES_IN_FLIGHT, (_, index) => identify(collectionId, image, boxes, index));
    await pictures.loadFaces(found.flatMap((item) => item.faces.slice(0, 1).map((match) => match.Face.FaceId)));
  }
  if (!context.current()) return;
  faces.forEach((face, i) => {
    const best = bestName(found[i]);
    const label = collectionId ? `${i + 1}: ${best ? `${best.label} ${best.similarity.toFixed(1)}` : "unknown"}` : String(i + 1);
    drawBox(shown, face.BoundingBox, label, collectionId ? (best ? "face known" : "face unknown") : "face");
    drawLandmarks(shown, face.Landmarks);
  });
  const known = found.filter((item) => bestName(item)).length;
  put(results,
    h("p", { id: "face-count" }, `${faces.length} face${faces.length === 1 ? "" : "s"}`
      + (collectionId ? `, ${known} known in ${collectionId}` : "")),
    collectionId ? pictures.notice() : null,
    h("div", { class: "columns" }, shown.figure,
      h("div", { class: "cards" }, faces.map((face, i) => faceCard(i + 1, face, image, collectionId ? found[i] : undefined, pictures)))));
}

export async function tryPage(view, context) {
  const collection = await collectionSelect("collection");
  const results = h("div", { id: "results" });
  const onFile = (file) => analyse(file, collection.value, results, context)
    .catch((error) => put(results, errorBox(explain(error, file.name))));
  put(view,
    h("h2", null, "Try it"),
    h("p", null, "Drop a photo: every face is found and described; choose a collection to identify each one."),
    h("label", null, "Search in ", collection),
    picker("Photo", onFile),
    results);
}
