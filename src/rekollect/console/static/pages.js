// The console's pages. Each is {name, label, render}: `#/<name>/<params...>` shows it, `label` is its
// tab in the navigation (none: reached by links only), and render(view, context) fills `view` (see
// app.js for `context`). A new page is one import and one line here.
import { collectionPage, collectionsPage } from "./collections.js";
import { comparePage } from "./compare.js";
import { livenessPage } from "./liveness.js";
import { peoplePage } from "./people.js";
import { streamsPage } from "./streams.js";
import { tryPage } from "./try.js";
import { videoPage } from "./video.js";

export const PAGES = [
  { name: "collections", label: "Collections", render: collectionsPage },
  { name: "collection", render: collectionPage, tab: "collections" },
  { name: "try", label: "Try it", render: tryPage },
  { name: "compare", label: "Compare", render: comparePage },
  { name: "video", label: "Video", render: videoPage },
  { name: "people", label: "People", render: peoplePage },
  { name: "liveness", label: "Liveness", render: livenessPage },
  { name: "streams", label: "Live streams", render: streamsPage },
];

export const DEFAULT_PAGE = "collections";
