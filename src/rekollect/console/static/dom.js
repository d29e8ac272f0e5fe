// Builds DOM elements without innerHTML, so text from the API is never parsed as markup.
const SVG = "http://www.w3.org/2000/svg";

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

// h("a", {href: "#"}, "text", child...) -> an HTML element.
export const h = (tag, attributes, ...children) => build(document.createElement(tag), attributes, children);

// s("rect", {x: 1}) -> an SVG element.
export const s = (tag, attributes, ...children) => build(document.createElementNS(SVG, tag), attributes, children);

// A table with a header row; `rows` are arrays of cells (numbers are right-aligned).
export function table(headings, rows, attributes) {
  return h("table", attributes,
    h("thead", null, h("tr", null, headings.map((heading) => h("th", null, heading)))),
    h("tbody", null, rows.map((row) => h("tr", null, row.map((cell) =>
      h("td", typeof cell === "number" ? { class: "number" } : null, typeof cell === "number" ? cell.toFixed(2) : cell))))));
}
