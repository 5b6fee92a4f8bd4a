// Farmers' QR cards on this phone: the card code's rule (field_client/checkin_codes.py) and the
// phone's own card list. Cards never sync (field_client/local.py): a card is known to the
// device that issued it.
import { getMeta, setMeta } from "./store.js";

// The same alphabet and length as field_client/checkin_codes.py (a browser test compares them):
// no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V, so a misread card is told, not mistaken.
export const CARD_ALPHABET = "ACEFHJKMNPRTWXY3479";
export const CARD_RANDOM = 6;
const META_KEY = "cards";

function checkChar(body) {
  // A weighted sum modulo 19 (the alphabet's length, a prime): any one wrong character and any
  // swap of two neighbours changes it.
  let total = 0;
  for (let place = 0; place < body.length; place += 1) {
    total += (place + 1) * CARD_ALPHABET.indexOf(body[place]);
  }
  return CARD_ALPHABET[total % CARD_ALPHABET.length];
}

/** The card code in `text` (as scanned or typed), or null when it cannot be one. */
export function normaliseCardCode(text) {
  const cleaned = String(text || "")
    .toUpperCase()
    .replace(/[\s-]/g, "");
  if (cleaned.length !== CARD_RANDOM + 1) return null;
  for (const char of cleaned) {
    if (!CARD_ALPHABET.includes(char)) return null;
  }
  return checkChar(cleaned.slice(0, -1)) === cleaned.slice(-1) ? cleaned : null;
}

export function newCardCode() {
  const random = new Uint32Array(CARD_RANDOM);
  crypto.getRandomValues(random);
  const body = Array.from(random, (n) => CARD_ALPHABET[n % CARD_ALPHABET.length]).join("");
  return body + checkChar(body);
}

async function cardList() {
  return (await getMeta(META_KEY)) || {};
}

/** The farmer id a card belongs to on this phone: {farmerId} or {problem: "mistyped"|"unknown"}. */
export async function farmerIdOfCard(text) {
  const code = normaliseCardCode(text);
  if (code === null) return { problem: "mistyped" };
  const farmerId = (await cardList())[code];
  return farmerId ? { farmerId, code } : { problem: "unknown", code };
}

/** The farmer's card code on this phone, issuing one when the farmer has none. */
export async function issueCard(farmerId) {
  const cards = await cardList();
  for (const [code, owner] of Object.entries(cards)) {
    if (owner === farmerId) return code;
  }
  let code = newCardCode();
  while (cards[code]) code = newCardCode();
  cards[code] = farmerId;
  await setMeta(META_KEY, cards);
  return code;
}
