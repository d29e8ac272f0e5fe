// #/video: a video file uploaded into the server's local object folder (UploadVideoPart, a Rekollect
// extension, in parts) or named as an S3 object, searched for a collection's faces (StartFaceSearch),
// and the past face search jobs with their status and progress (ListJobs, an extension). #/video/<JobId>:
// the job's progress, then the timeline of each matched face (ExternalImageId or FaceId) against
// Timestamp (GetFaceSearch, every page) beside a player of the video: a click on a match seeks there.
import { EXTENSIONS, call, callAll, fittedId, imageBytes } from "./api.js";
import { collectionSelect } from "./collections.js";
import { add, errorBox, h, progress, put, s, table } from "./dom.js";
import { picker } from "./photo.js";

const POLL_MS = 1000;
const PART_BYTES = 4 * 1024 * 1024; // of each UploadVideoPart (at most 8 MiB)
const UPLOAD_BUCKET = "console-uploads";
const WIDTH = 900; // of the timeline, in SVG units: LABEL for the names, the rest for the video's duration
const LABEL = 220;
const ROW = 22;
const videos = new Map(); // JobId -> object URL of the file this tab uploaded for it (to play it)

const show = (jobId) => { location.hash = `#/video/${encodeURIComponent(jobId)}`; };
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function videoPage(view, context) {
  const [jobId] = context.params;
  if (jobId) return jobPage(view, context, jobId);
  const collection = await collectionSelect("collection", true);
  const message = h("div", { class: "message" });
  const uploading = h("div", { id: "upload-progress" });
  const bucket = h("input", { name: "bucket", required: true });
  const key = h("input", { name: "key", required: true });
  const jobs = h("div", { id: "jobs" });

  async function start(video) {
    if (!collection.value) throw new Error("Choose the collection whose faces to look for.");
    const jobId = (await call("StartFaceSearch", { CollectionId: collection.value, Video: { S3Object: video } })).JobId;
    show(jobId);
    return jobId;
  }

  async function upload(file) {
    try {
      if (!collection.value) throw new Error("Choose the collection whose faces to look for first.");
      const name = `${Date.now().toString(36)}-${fittedId(file.name) ?? "video"}`;
      let offset = 0;
      do {
        const megabytes = `${(offset / 1048576).toFixed(1)} of ${(file.size / 1048576).toFixed(1)} MB`;
        put(uploading, progress(offset, file.size, `Uploading ${file.name}: ${megabytes}`));
        const data = await imageBytes(file.slice(offset, offset + PART_BYTES));
        const last = offset + PART_BYTES >= file.size;
        await call("UploadVideoPart", { Bucket: UPLOAD_BUCKET, Name: name, Offset: offset, Data: data, Last: last }, EXTENSIONS);
        offset += PART_BYTES;
      } while (offset < file.size);
      put(uploading, progress(file.size, file.size, `Uploaded ${file.name}; starting the face search…`));
      const jobId = await start({ Bucket: UPLOAD_BUCKET, Name: name });
      videos.set(jobId, URL.createObjectURL(file));
    } catch (error) {
      put(uploading);
      put(message, errorBox(error));
    }
  }

  put(view,
    h("h2", null, "Video face search"),
    h("div", { class: "inline-form" }, h("label", null, "Look for the faces of ", collection)),
    picker("Video (MP4 or MOV)", upload, "video/mp4,video/quicktime,.mp4,.mov"),
    uploading,
    h("details", null, h("summary", null, "Or a video the server can already read (an S3 object)"),
      h("p", null, "<bucket>/<key> under the server's --s3-local-root, or an object of its --s3-endpoint-url."),
      h("form", { id: "start-job", class: "inline-form", onsubmit: async (event) => {
        event.preventDefault();
        try {
          await start({ Bucket: bucket.value, Name: key.value });
        } catch (error) {
          put(message, errorBox(error));
        }
      } }, h("label", null, "Bucket ", bucket), h("label", null, "Key ", key), h("button", { type: "submit" }, "Start face search"))),
    message,
    h("h3", null, "Face search jobs"),
    jobs);
  context.show();
  await listJobs(jobs, context);
}

// The face search jobs (ListJobs, newest first), refreshed while any is in progress and the page is shown.
async function listJobs(holder, context) {
  for (;;) {
    const { Jobs: jobs } = await call("ListJobs", { JobType: "FACE_SEARCH" }, EXTENSIONS);
    if (!context.current()) return;
    put(holder, jobs.length ? table(["Job", "Status", "Progress", "Collection", "Video", "Started"], jobs.map((job) => [
      h("a", { href: `#/video/${encodeURIComponent(job.JobId)}`, class: "job-link" }, job.JobId.slice(0, 8)),
      h("span", { class: `status ${job.JobStatus.toLowerCase()}` }, job.JobStatus),
      progress(job.Progress, 100, `${job.Progress.toFixed(0)} %`),
      job.CollectionId ?? "",
      job.Video ? `${job.Video.S3Object.Bucket}/${job.Video.S3Object.Name}` : "",
      new Date(job.CreationTimestamp * 1000).toLocaleString(),
    ]), { class: "jobs" }) : h("p", { class: "empty" }, "No face search jobs yet."));
    if (!jobs.some((job) => job.JobStatus === "IN_PROGRESS")) return;
    await wait(POLL_MS);
    if (!context.current()) return;
  }
}

// The job's progress (ListJobs: the job among the newest), or null.
async function progressOf(jobId) {
  const { Jobs: jobs } = await call("ListJobs", { JobType: "FACE_SEARCH" }, EXTENSIONS);
  return jobs.find((job) => job.JobId === jobId)?.Progress ?? null;
}

// Polls GetFaceSearch until the job ends, then shows the player and the timeline of its Persons.
async function jobPage(view, context, jobId) {
  const status = h("p", { id: "job-status" }, `Job ${jobId}: waiting…`);
  const bar = h("div");
  put(view, h("h2", null, "Video face search"), h("p", null, h("a", { href: "#/video" }, "← every job")), status, bar);
  context.show();
  let first = await call("GetFaceSearch", { JobId: jobId, MaxResults: 1 });
  while (first.JobStatus === "IN_PROGRESS") {
    const done = await progressOf(jobId);
    if (!context.current()) return;
    status.textContent = `Job ${jobId}: IN_PROGRESS`;
    if (done !== null) put(bar, progress(done, 100, `${done.toFixed(0)} % of the video analysed`));
    await wait(POLL_MS);
    if (!context.current()) return;
    first = await call("GetFaceSearch", { JobId: jobId, MaxResults: 1 });
  }
  put(bar);
  status.textContent = `Job ${jobId}: ${first.JobStatus}${first.StatusMessage ? ` (${first.StatusMessage})` : ""}`;
  if (first.JobStatus !== "SUCCEEDED") return;
  const persons = await callAll("GetFaceSearch", { JobId: jobId, MaxResults: 1000 }, "Persons");
  if (!context.current()) return;
  const player = h("video", { id: "player", controls: true, preload: "metadata" });
  const playerBox = h("div", { class: "player" });
  const attach = (url) => {
    player.src = url;
    put(playerBox, player);
  };
  if (videos.has(jobId)) attach(videos.get(jobId));
  else put(playerBox, picker("To play the video here, choose its file", (file) => attach(URL.createObjectURL(file)), "video/*"));
  add(view, playerBox, timeline(persons, first.VideoMetadata?.DurationMillis, player));
}

// One row per matched face (labelled by ExternalImageId, else FaceId), a mark at each Timestamp (ms) it
// matched; a click on a mark plays the video from there; a line follows the video's time.
function timeline(persons, durationMillis, player) {
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
  const seek = (time) => () => {
    player.currentTime = time / 1000;
    if (player.src) player.play().catch(() => {});
  };
  const playhead = s("line", { class: "playhead", x1: LABEL, x2: LABEL, y1: 0, y2: height - 14 });
  player.addEventListener("timeupdate", () => {
    const at = x(player.currentTime * 1000);
    playhead.setAttribute("x1", at);
    playhead.setAttribute("x2", at);
  });
  return h("section", null,
    h("p", { id: "timeline-summary" }, `${rows.size} matched face(s) in ${persons.length} person detection(s) with matches, over ${(duration / 1000).toFixed(1)} s. Click a mark to play from there.`),
    h("div", { class: "table-scroll" }, s("svg", { class: "timeline", viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height },
      [...rows].map(([label, hits], row) => s("g", { class: "person-row", "data-label": label },
        s("text", { class: "row-label", x: 0, y: (row + 1) * ROW - 6 }, label),
        hits.map((hit) => s("rect", { class: "hit", x: x(hit.time) - 2, y: row * ROW + 4, width: 4, height: ROW - 8, "data-time": hit.time, onclick: seek(hit.time) },
          s("title", null, `${hit.time} ms: person ${hit.index}, similarity ${hit.similarity.toFixed(1)}`))))),
      ticks.map((second) => s("text", { class: "axis", x: x(second * 1000), y: height - 4 }, `${second} s`)),
      playhead)));
}
