// #/streams: the stream processors (ListStreamProcessors, DescribeStreamProcessor) with their status, Start and
// Stop buttons, and each one's latest matched frames as they arrive (GetStreamProcessorMatches, a Rekollect
// extension: the records its Kinesis data stream received that matched a face), refreshed every REFRESH_MS while the page is shown.
import { EXTENSIONS, call, callAll } from "./api.js";
import { h, put, table } from "./dom.js";

const REFRESH_MS = 2000;
const MATCHES_SHOWN = 8;

export async function streamsPage(view, context) {
  const list = h("section", { id: "stream-processors" });
  put(view,
    h("h2", null, "Live streams"),
    h("p", null, "Stream processors search a collection for the faces of a live camera and write one record per analysed frame to a Kinesis data stream. Below: each processor and its latest frames with a match, newest first."),
    list);
  put(list, await processors());
  context.show();
  while (context.current()) {
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    if (!context.current()) return;
    const shown = await processors();
    if (context.current()) put(list, shown);
  }
}

// One <article> per processor.
async function processors() {
  const items = await callAll("ListStreamProcessors", { MaxResults: 100 }, "StreamProcessors");
  if (items.length === 0) return [h("p", null, "No stream processors yet (CreateStreamProcessor).")];
  return Promise.all(items.map(({ Name: name }) => processor(name)));
}

async function processor(name) {
  const [described, latest] = await Promise.all([
    call("DescribeStreamProcessor", { Name: name }),
    call("GetStreamProcessorMatches", { Name: name, MaxResults: MATCHES_SHOWN }, EXTENSIONS),
  ]);
  const running = ["STARTING", "RUNNING"].includes(described.Status);
  const action = h("button", { type: "button", onclick: () => act(running ? "StopStreamProcessor" : "StartStreamProcessor", name, action) },
    running ? "Stop" : "Start");
  action.disabled = ["STOPPING", "UPDATING"].includes(described.Status);
  const stream = (described.Input?.KinesisVideoStream?.Arn ?? "").split(":").pop().split("/")[1] ?? "";
  const rows = latest.Matches.map(({ Record: text }) => matchRow(JSON.parse(text)));
  return h("article", { class: "stream", "data-name": name },
    h("h3", null, name, " ", h("span", { class: `status ${described.Status.toLowerCase()}` }, described.Status), " ", action),
    described.StatusMessage ? h("p", { class: "status-message" }, described.StatusMessage) : null,
    h("p", null, `Video stream ${stream} · collection ${described.Settings?.FaceSearch?.CollectionId ?? ""}`
      + ` · threshold ${described.Settings?.FaceSearch?.FaceMatchThreshold ?? 80}`),
    rows.length === 0 ? h("p", { class: "no-matches" }, "No match yet.")
      : table(["Frame time", "Matched", "Similarity", "Faces in frame"], rows, { class: "matches" }));
}

// A matched frame record: when its frame was shown, and who matched (ExternalImageId, else FaceId).
function matchRow(record) {
  const video = record.InputInformation.KinesisVideo;
  const shown = new Date((video.ProducerTimestamp + video.FrameOffsetInSeconds) * 1000);
  const best = record.FaceSearchResponse.flatMap((face) => face.MatchedFaces.slice(0, 1));
  const clock = { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 1, hour12: false };
  return [shown.toLocaleTimeString(undefined, clock),
    best.map((match) => match.Face.ExternalImageId ?? match.Face.FaceId).join(", "),
    best.map((match) => match.Similarity.toFixed(1)).join(", "),
    String(record.FaceSearchResponse.length)];
}

async function act(operation, name, button) {
  button.disabled = true;
  try {
    await call(operation, { Name: name });
  } catch (error) {
    button.after(h("span", { class: "search-error" }, ` ${error.message}`));
  }
}
