// #/try: every face of a photo with landmarks and attributes (DetectFaces, Attributes ALL), and the
// faces and users of a collection that match its largest face (SearchFacesByImage, SearchUsersByImage).
import { call, imageBytes } from "./api.js";
import { collectionSelect } from "./collections.js";
import { h, table } from "./dom.js";
import { drawBox, drawLandmarks, photo, picker } from "./photo.js";

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

// Runs a search, showing its error message (no face in the photo, no such collection...) in its place.
async function section(title, search) {
  try {
    return h("section", null, h("h3", null, title), await search());
  } catch (error) {
    return h("section", null, h("h3", null, title), h("p", { class: "search-error" }, error.message));
  }
}

async function analyse(file, collectionId, results) {
  results.replaceChildren(h("p", null, `Analysing ${file.name}…`));
  const [shown, bytes] = await Promise.all([photo(file), imageBytes(file)]);
  const { FaceDetails: faces } = await call("DetectFaces", { Image: { Bytes: bytes }, Attributes: ["ALL"] });
  faces.forEach((face, i) => {
    drawBox(shown, face.BoundingBox, String(i + 1));
    drawLandmarks(shown, face.Landmarks);
  });
  const cards = faces.map((face, i) =>
    h("div", { class: "face-card" }, h("h3", null, `Face ${i + 1}`), attributes(face).map((line) => h("div", null, line))));
  const searches = [];
  if (collectionId) {
    searches.push(section(`Faces in ${collectionId}`, async () => {
      const found = await call("SearchFacesByImage", { CollectionId: collectionId, Image: { Bytes: bytes }, MaxFaces: 10 });
      drawBox(shown, found.SearchedFaceBoundingBox, "searched", "face searched");
      return table(["ExternalImageId", "FaceId", "Similarity"],
        found.FaceMatches.map((m) => [m.Face.ExternalImageId ?? "", m.Face.FaceId, m.Similarity]), { class: "face-matches" });
    }));
    searches.push(section(`Users in ${collectionId}`, async () => {
      const found = await call("SearchUsersByImage", { CollectionId: collectionId, Image: { Bytes: bytes }, MaxUsers: 10 });
      return table(["UserId", "Similarity"], found.UserMatches.map((m) => [m.User.UserId, m.Similarity]), { class: "user-matches" });
    }));
  }
  results.replaceChildren(
    h("p", { id: "face-count" }, `${faces.length} face${faces.length === 1 ? "" : "s"}`),
    h("div", { class: "columns" }, shown.figure, h("div", { class: "cards" }, cards)),
    ...(await Promise.all(searches)));
}

export async function tryPage(main) {
  const collection = await collectionSelect("collection");
  const results = h("div", { id: "results" });
  const onFile = (file) =>
    analyse(file, collection.value, results).catch((e) => results.replaceChildren(h("p", { class: "search-error" }, e.message)));
  main.replaceChildren(
    h("h2", null, "Try it"),
    h("label", null, "Search in ", collection),
    picker("Photo", onFile),
    results);
}
