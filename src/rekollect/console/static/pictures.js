// The pictures the server keeps of stored faces (GetFaceCrops, a Rekollect extension; only with
// --face-crops), shown wherever a stored face or user is; without one, the face's BoundingBox drawn
// in a square that stands for its photo.
import { EXTENSIONS, blobOf, call } from "./api.js";
import { h, s } from "./dom.js";

const MAX_IDS = 100; // FaceIds or UserIds of one GetFaceCrops call

// The one line shown where pictures are missing because the server keeps none.
export const PICTURES_OFF = "Face pictures are off: start the server with --face-crops (or REKOLLECT_FACE_CROPS=1) to see "
  + "each face here; the server then keeps a small picture of every face it indexes (biometric data, see the README's Security).";

// The pictures of one collection's faces and users, fetched in batches and kept as object URLs.
export class Pictures {
  constructor(collectionId) {
    this.collectionId = collectionId;
    this.faces = new Map(); // FaceId -> object URL, or null when the face has no picture
    this.users = new Map(); // UserId -> {faceId, url} or null
    this.enabled = null; // whether the server keeps pictures (FaceCropsEnabled), once asked
  }

  async #fetch(member, ids, keep) {
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      const batch = ids.slice(i, i + MAX_IDS);
      const answer = await call("GetFaceCrops", { CollectionId: this.collectionId, [member]: batch }, EXTENSIONS);
      this.enabled = answer.FaceCropsEnabled;
      keep(batch, answer.FaceCrops);
    }
  }

  // Fetches the pictures of `faceIds` not fetched yet.
  async loadFaces(faceIds) {
    const missing = [...new Set(faceIds)].filter((id) => !this.faces.has(id));
    await this.#fetch("FaceIds", missing, (batch, crops) => {
      for (const id of batch) this.faces.set(id, null);
      for (const crop of crops) this.faces.set(crop.FaceId, URL.createObjectURL(blobOf(crop.Crop, "image/jpeg")));
    });
  }

  // Fetches the pictures of `userIds` (each user's face nearest its vector) not fetched yet.
  async loadUsers(userIds) {
    const missing = [...new Set(userIds)].filter((id) => !this.users.has(id));
    await this.#fetch("UserIds", missing, (batch, crops) => {
      for (const id of batch) this.users.set(id, null);
      for (const crop of crops) this.users.set(crop.UserId, { faceId: crop.FaceId, url: URL.createObjectURL(blobOf(crop.Crop, "image/jpeg")) });
    });
  }

  // The picture of a stored face (`face`: its ListFaces record, for the fallback's box).
  face(faceId, face) {
    const url = this.faces.get(faceId);
    return url ? h("img", { class: "face-picture", src: url, alt: face?.ExternalImageId ?? faceId }) : boxInSquare(face?.BoundingBox);
  }

  // The picture of a user, or a placeholder.
  user(userId) {
    const found = this.users.get(userId);
    return found ? h("img", { class: "face-picture", src: found.url, alt: userId }) : boxInSquare(null);
  }

  // The notice to show when pictures are off (null when they are on, or not asked yet).
  notice() {
    return this.enabled === false ? h("p", { class: "notice pictures-off" }, PICTURES_OFF) : null;
  }
}

// A face's BoundingBox (ratios of its photo) in a square standing for the photo: all that the stored record says.
export function boxInSquare(box) {
  return s("svg", { class: "face-picture frame", viewBox: "0 0 1 1", preserveAspectRatio: "none", role: "img" },
    box && s("rect", { class: "face", x: box.Left, y: box.Top, width: box.Width, height: box.Height }));
}
