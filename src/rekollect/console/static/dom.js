// Builds DOM elements without innerHTML, so text from the API is never parsed as markup.
const SVG = "http://www.w3.org/2000/svg";

// Children may be nested arrays to any depth (a map returning arrays, say): all are flattened, and
// null, undefined and false are left out (so `condition ? element : null` works anywhere).
const flattened = (children) => children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false);

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value);
  }
  element.append(...flattened(children));
  return element;
}

// element.replaceChildren / element.append with children as h() takes them.
export const put = (element, ...children) => element.replaceChildren(...flattened(children));
export const add = (element, ...children) => element.append(...flattened(children));

// h("a", {href: "#"}, "text", child...) -> an HTML element.
export const h = (tag, attributes, ...children) => build(document.createElement(tag), attributes, children);

// s("rect", {x: 1}) -> an SVG element.
export const s = (tag, attributes, ...children) => build(document.createElementNS(SVG, tag), attributes, children);

// A table with a header row; `rows` are arrays of cells (numbers are right-aligned with two decimals).
export function table(headings, rows, attributes) {
  return h("div", { class: "table-scroll" }, h("table", attributes,
    h("thead", null, h("tr", null, headings.map((heading) => h("th", null, heading)))),
    h("tbody", null, rows.map((row) => h("tr", null, row.map((cell) =>
      h("td", typeof cell === "number" ? { class: "number" } : null, typeof cell === "number" ? cell.toFixed(2) : cell)))))));
}

// A button that runs `action` (which may be async) when clicked.
export const button = (label, action, attributes = {}) => h("button", { type: "button", ...attributes, onclick: action }, label);

// A styled error message (role=alert) for an Error or a string.
export const errorBox = (error) => h("p", { class: "error", role: "alert" }, typeof error === "string" ? error : error.message);

// A progress bar: `done` of `total`, with a caption.
export function progress(done, total, caption) {
  return h("div", { class: "progress" },
    h("progress", { max: total || 1, value: done }),
    h("span", { class: "progress-caption" }, caption));
}
