// The Face Liveness page's bundle: Amplify's FaceLivenessDetectorCore, unchanged, mounted by React.
// Built by `rekollect install` (esbuild) into liveness.js and liveness.css in the models folder.
import "@aws-amplify/ui-react/styles.css";
import "@aws-amplify/ui-react-liveness/styles.css";
import { FaceLivenessDetectorCore } from "@aws-amplify/ui-react-liveness";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

// Render the detector with `props` into `element`; returns a function that removes it.
export function mountLiveness(element, props) {
  const root = createRoot(element);
  root.render(createElement(FaceLivenessDetectorCore, props));
  return () => root.unmount();
}
