// #/liveness: a Face Liveness check with Amplify's own FaceLivenessDetectorCore (unchanged, bundled
// at install time), against this server: CreateFaceLivenessSession, the stream, then
// GetFaceLivenessSessionResults; the reference image can be compared with a photo (CompareFaces)
// or searched in a collection (SearchUsersByImage).
import { call, callAll, imageBytes, storedKeys } from "./api.js";
import { h, table } from "./dom.js";
import { picker } from "./photo.js";

const VENDOR = new URL("./vendor/liveness/", import.meta.url);

function loadStyles() {
  if (!document.querySelector("link[data-liveness]")) {
    document.head.append(h("link", { rel: "stylesheet", href: new URL("liveness.css", VENDOR), "data-liveness": "" }));
  }
}

// The detector's props: this server as the endpoint (wss: on this host), the console's keys (any keys
// in local mode, where the server does not check them), the face detector files served by Rekollect.
function detectorProps(sessionId, onAnalysisComplete, onError) {
  const keys = storedKeys() ?? { accessKeyId: "local", secretAccessKey: "local", region: "us-east-1" };
  return {
    sessionId,
    region: keys.region,
    disableStartScreen: true,
    onAnalysisComplete,
    onError,
    config: {
      endpointOverride: `wss://${location.host}`,
      credentialProvider: async () => ({ accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey }),
      binaryPath: VENDOR.href,
      faceModelUrl: new URL("blazeface/model.json", VENDOR).href,
    },
  };
}

function imageUrl(image) {
  return image?.Bytes ? `data:image/jpeg;base64,${image.Bytes}` : null;
}

export async function livenessPage(main) {
  const audits = h("select", { name: "audits" }, [0, 1, 2, 3, 4].map((n) => h("option", { value: n }, String(n))));
  const detector = h("div", { id: "liveness-detector", class: "liveness-detector" });
  const results = h("div", { id: "liveness-results" });
  const start = h("button", { type: "button", id: "liveness-start", onclick: () => begin().catch(fail) }, "Start a check");
  let unmount = null;

  function fail(error) {
    results.replaceChildren(h("p", { class: "search-error", id: "liveness-error" }, error.message ?? String(error)));
    start.disabled = false;
  }

  async function begin() {
    start.disabled = true;
    results.replaceChildren();
    const { mountLiveness } = await import(new URL("liveness.js", VENDOR).href);
    loadStyles();
    const { SessionId } = await call("CreateFaceLivenessSession", { Settings: { AuditImagesLimit: Number(audits.value) } });
    detector.dataset.sessionId = SessionId;
    const finish = async () => {
      unmount?.();
      show(await call("GetFaceLivenessSessionResults", { SessionId }));
    };
    const error = (failure) => {
      unmount?.();
      const message = `${failure.state}: ${failure.error?.message ?? ""}`;
      call("GetFaceLivenessSessionResults", { SessionId }).then((answer) => {
        show(answer);
        results.prepend(h("p", { class: "search-error", id: "liveness-error" }, message));
      }, fail);
    };
    unmount = mountLiveness(detector, detectorProps(SessionId, finish, error));
  }

  function show(answer) {
    start.disabled = false;
    const reference = imageUrl(answer.ReferenceImage);
    const rows = [["Session", answer.SessionId], ["Status", answer.Status]];
    if (answer.Confidence !== undefined) rows.push(["Confidence", answer.Confidence]);
    if (answer.Challenge) rows.push(["Challenge", `${answer.Challenge.Type} ${answer.Challenge.Version}`]);
    results.replaceChildren(
      table(["", ""], rows, { class: "liveness-result", id: "liveness-result" }),
      reference ? h("figure", null, h("img", { src: reference, alt: "reference image", id: "liveness-reference" }), h("figcaption", null, "Reference image")) : null,
      h("div", { class: "columns" }, (answer.AuditImages ?? []).map((image, i) =>
        h("figure", null, h("img", { src: imageUrl(image), alt: `audit image ${i + 1}` }), h("figcaption", null, `Audit ${i + 1}`)))),
      answer.ReferenceImage?.Bytes ? useReference(answer.ReferenceImage.Bytes) : null);
  }

  // CompareFaces of the reference image with a chosen photo, or SearchUsersByImage in a collection.
  function useReference(bytes) {
    const output = h("div", { id: "liveness-use" });
    const collection = h("select", { name: "collection" });
    callAll("ListCollections", {}, "CollectionIds").then(
      (ids) => collection.replaceChildren(...ids.map((id) => h("option", { value: id }, id))), () => {});
    const compareWith = async (file) => {
      const answer = await call("CompareFaces", { SourceImage: { Bytes: bytes }, TargetImage: { Bytes: await imageBytes(file) }, SimilarityThreshold: 0 });
      output.replaceChildren(table(["Match", "Similarity"], answer.FaceMatches.map((match, i) => [String(i + 1), match.Similarity]), { class: "liveness-compare" }));
    };
    const compare = picker("Compare with a photo (CompareFaces)", (file) => compareWith(file).catch(fail));
    const search = h("button", { type: "button", onclick: async () => {
      const answer = await call("SearchUsersByImage", { CollectionId: collection.value, Image: { Bytes: bytes } }).catch(fail);
      if (answer) output.replaceChildren(table(["User", "Similarity"], answer.UserMatches.map((m) => [m.User.UserId, m.Similarity]), { class: "liveness-users" }));
    } }, "Search users (SearchUsersByImage)");
    return h("section", null, h("h3", null, "Use the reference image"), compare, h("p", null, collection, " ", search), output);
  }

  main.replaceChildren(
    h("h2", null, "Face Liveness"),
    h("p", null, "Runs AWS Amplify's FaceLivenessDetectorCore against this server (the page must be served over https: browsers open the stream as wss:)."),
    h("label", null, "Audit images ", audits), " ", start,
    detector, results);
}
