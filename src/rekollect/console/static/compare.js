// #/compare: CompareFaces of the largest face of a source photo with every face of a target photo.
import { call, imageBytes } from "./api.js";
import { h, table } from "./dom.js";
import { drawBox, photo, picker } from "./photo.js";

export async function comparePage(main) {
  const files = {};
  const threshold = h("input", { type: "number", min: 0, max: 100, value: 80, name: "threshold" });
  const results = h("div", { id: "results" });
  const run = h("button", { type: "button", disabled: true, onclick: () => compare().catch((e) => results.replaceChildren(h("p", { class: "search-error" }, e.message))) }, "Compare");
  const choose = (role) => (file) => { files[role] = file; run.disabled = !(files.source && files.target); };

  async function compare() {
    results.replaceChildren(h("p", null, "Comparing…"));
    const [source, target, sourceBytes, targetBytes] = await Promise.all(
      [photo(files.source), photo(files.target), imageBytes(files.source), imageBytes(files.target)]);
    const answer = await call("CompareFaces", {
      SourceImage: { Bytes: sourceBytes }, TargetImage: { Bytes: targetBytes }, SimilarityThreshold: Number(threshold.value),
    });
    drawBox(source, answer.SourceImageFace.BoundingBox, "source", "face searched");
    answer.FaceMatches.forEach((match, i) => drawBox(target, match.Face.BoundingBox, `${i + 1}: ${match.Similarity.toFixed(1)}`));
    answer.UnmatchedFaces.forEach((face) => drawBox(target, face.BoundingBox, "", "face unmatched"));
    results.replaceChildren(
      h("div", { class: "columns" }, source.figure, target.figure),
      table(["Match", "Similarity", "Confidence"],
        answer.FaceMatches.map((match, i) => [String(i + 1), match.Similarity, match.Face.Confidence]), { class: "face-matches" }),
      h("p", null, `${answer.UnmatchedFaces.length} face(s) of the target below the threshold.`));
  }

  main.replaceChildren(
    h("h2", null, "Compare faces"),
    picker("Source (its largest face)", choose("source")),
    picker("Target (every face)", choose("target")),
    h("label", null, "Similarity threshold ", threshold), " ", run,
    results);
}
