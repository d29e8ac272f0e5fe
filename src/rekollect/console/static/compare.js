// #/compare: CompareFaces of the largest face of a source photo with every face of a target photo; each
// face shown from the photos themselves.
import { call, explain, imageBytes } from "./api.js";
import { button, errorBox, h, put, table } from "./dom.js";
import { drawBox, figure, picker } from "./photo.js";
import { faceThumb, loadImage } from "./regions.js";

export async function comparePage(view) {
  const files = {};
  const threshold = h("input", { type: "number", min: 0, max: 100, value: 80, name: "threshold" });
  const results = h("div", { id: "results" });
  // CompareFaces refuses a source photo without a face (a target without one is an empty answer).
  const run = button("Compare", () => compare().catch((error) => put(results, errorBox(explain(error, "the source photo")))),
    { disabled: true });
  const choose = (role) => (file) => { files[role] = file; run.disabled = !(files.source && files.target); };

  async function compare() {
    put(results, h("p", { class: "loading" }, "Comparing…"));
    const [source, target, sourceBytes, targetBytes] = await Promise.all(
      [loadImage(files.source), loadImage(files.target), imageBytes(files.source), imageBytes(files.target)]);
    const answer = await call("CompareFaces", {
      SourceImage: { Bytes: sourceBytes }, TargetImage: { Bytes: targetBytes }, SimilarityThreshold: Number(threshold.value),
    });
    const [shownSource, shownTarget] = [figure(source, files.source.name), figure(target, files.target.name)];
    drawBox(shownSource, answer.SourceImageFace.BoundingBox, "source", "face searched");
    answer.FaceMatches.forEach((match, i) => drawBox(shownTarget, match.Face.BoundingBox, `${i + 1}: ${match.Similarity.toFixed(1)}`));
    answer.UnmatchedFaces.forEach((face) => drawBox(shownTarget, face.BoundingBox, "", "face unmatched"));
    put(results,
      h("div", { class: "columns" }, shownSource.figure, shownTarget.figure),
      h("div", { class: "pair" }, h("span", null, "Source face "), faceThumb(source, answer.SourceImageFace.BoundingBox)),
      table(["Match", "Face", "Similarity", "Confidence"],
        answer.FaceMatches.map((match, i) => [String(i + 1), faceThumb(target, match.Face.BoundingBox), match.Similarity, match.Face.Confidence]),
        { class: "face-matches" }),
      answer.FaceMatches.length + answer.UnmatchedFaces.length === 0
        ? h("p", { class: "notice no-face" }, `No face was found in the target photo ${files.target.name}.`)
        : h("p", null, `${answer.UnmatchedFaces.length} face(s) of the target below the threshold`),
      h("div", { class: "unmatched" }, answer.UnmatchedFaces.map((face) => faceThumb(target, face.BoundingBox))));
  }

  put(view,
    h("h2", null, "Compare faces"),
    picker("Source (its largest face)", choose("source")),
    picker("Target (every face)", choose("target")),
    h("div", { class: "inline-form" }, h("label", null, "Similarity threshold ", threshold), run),
    results);
}
