// #/video: start a face search job on a stored video (StartFaceSearch), then, on #/video/<JobId>,
// the timeline of each matched face (ExternalImageId or FaceId) against Timestamp (GetFaceSearch).
import { call, callAll } from "./api.js";
import { collectionSelect } from "./collections.js";
import { h, s } from "./dom.js";

const POLL_MS = 1000;
const WIDTH = 900; // of the timeline, in SVG units: LABEL for the names, the rest for the video's duration
const LABEL = 220;
const ROW = 22;

const show = (jobId) => { location.hash = `#/video/${encodeURIComponent(jobId)}`; };

export async function videoPage(main, [jobId]) {
  if (jobId) return jobPage(main, jobId);
  const collection = await collectionSelect("collection");
  const bucket = h("input", { name: "bucket", required: true });
  const key = h("input", { name: "key", required: true });
  const job = h("input", { name: "job", required: true });
  const message = h("p", { class: "search-error" });
  async function start(event) {
    event.preventDefault();
    try {
      show((await call("StartFaceSearch", {
        CollectionId: collection.value, Video: { S3Object: { Bucket: bucket.value, Name: key.value } },
      })).JobId);
    } catch (error) {
      message.textContent = error.message;
    }
  }
  main.replaceChildren(
    h("h2", null, "Video face search"),
    h("p", null, "The video is an S3 object: <bucket>/<key> under the server's --s3-local-root, or an object of --s3-endpoint-url."),
    h("form", { id: "start-job", onsubmit: start }, h("label", null, "Collection ", collection), " ",
      h("label", null, "Bucket ", bucket), " ", h("label", null, "Key ", key), " ", h("button", { type: "submit" }, "Start face search")),
    message,
    h("form", { onsubmit: (event) => { event.preventDefault(); show(job.value); } },
      h("label", null, "Or show the job ", job), " ", h("button", { type: "submit" }, "Show")));
}

// Polls GetFaceSearch until the job ends, then draws the timeline of its Persons.
async function jobPage(main, jobId) {
  const status = h("p", { id: "job-status" }, `Job ${jobId}: waiting…`);
  main.replaceChildren(h("h2", null, "Video face search"), status);
  let first = await call("GetFaceSearch", { JobId: jobId, MaxResults: 1 });
  while (first.JobStatus === "IN_PROGRESS") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!main.contains(status)) return; // the user went to another page
    first = await call("GetFaceSearch", { JobId: jobId, MaxResults: 1 });
  }
  status.textContent = `Job ${jobId}: ${first.JobStatus}${first.StatusMessage ? ` (${first.StatusMessage})` : ""}`;
  if (first.JobStatus !== "SUCCEEDED") return;
  const persons = await callAll("GetFaceSearch", { JobId: jobId, MaxResults: 1000 }, "Persons");
  main.append(timeline(persons, first.VideoMetadata?.DurationMillis));
}

// One row per matched face (labelled by ExternalImageId, else FaceId), a mark at each Timestamp (ms) it matched.
function timeline(persons, durationMillis) {
  const rows = new Map();
  for (const { Timestamp: time, Person: person, FaceMatches: matches } of persons) {
    for (const { Face: face, Similarity: similarity } of matches ?? []) {
      const label = face.ExternalImageId ?? face.FaceId;
      if (!rows.has(label)) rows.set(label, []);
      rows.get(label).push({ time, similarity, index: person.Index });
    }
  }
  const duration = Math.max(durationMillis ?? 0, ...persons.map((p) => p.Timestamp), 1);
  const x = (time) => LABEL + (time / duration) * (WIDTH - LABEL - 10);
  const height = (rows.size + 1) * ROW + 10;
  const ticks = Array.from({ length: Math.floor(duration / 1000) + 1 }, (_, second) => second)
    .filter((second) => second % Math.ceil(duration / 10000) === 0);
  return h("section", null,
    h("p", null, `${rows.size} matched face(s) in ${persons.length} person detection(s) with matches, over ${(duration / 1000).toFixed(1)} s.`),
    s("svg", { class: "timeline", viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height },
      [...rows].map(([label, hits], row) => s("g", { class: "person-row", "data-label": label },
        s("text", { class: "row-label", x: 0, y: (row + 1) * ROW - 6 }, label),
        hits.map((hit) => s("rect", { class: "hit", x: x(hit.time) - 2, y: row * ROW + 4, width: 4, height: ROW - 8 },
          s("title", null, `${hit.time} ms: person ${hit.index}, similarity ${hit.similarity.toFixed(1)}`))))),
      ticks.map((second) => s("text", { class: "axis", x: x(second * 1000), y: height - 4 }, `${second} s`))));
}
