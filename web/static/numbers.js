// Numbers as the page's language writes them: Intl.NumberFormat on the page's lang, the same
// CLDR data the server's pages use through Babel (web/pages/wording/numbers.py): "2,1 Mb/s" and
// "−3,0 dB" in Azerbaijani, Turkish and Russian, "2.1 Mb/s" in English (as written in Europe).

const lang = document.documentElement.lang || "en";
const LOCALE = lang === "en" ? "en-GB" : lang;
const formats = new Map();

function format(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.NumberFormat(LOCALE, options));
  return formats.get(key);
}

/** `value` with the language's grouping and decimal sign, `digits` decimals at most (exactly
 * `digits` when `fixed`). */
export function formatNumber(value, digits = 0, fixed = false) {
  return format({ maximumFractionDigits: digits, minimumFractionDigits: fixed ? digits : 0 }).format(value);
}

/** A bit rate in kb/s: "850 kb/s" below a megabit, else "2,1 Mb/s". */
export function formatBitrate(kbps) {
  return kbps >= 1000
    ? format({ style: "unit", unit: "megabit-per-second", maximumFractionDigits: 1 }).format(kbps / 1000)
    : format({ style: "unit", unit: "kilobit-per-second", maximumFractionDigits: 0 }).format(kbps);
}

/** A level with one decimal and its sign: "+2,5 dB", "0,0 dB", "−6,0 dB". */
export function formatDecibels(db) {
  const sign = Math.round(db * 10) === 0 ? "" : db > 0 ? "+" : "−";
  return `${sign}${formatNumber(Math.abs(db), 1, true)} dB`;
}

/** A size in decimal units: "1,2 GB", "512,3 MB". */
export function formatBytes(n) {
  const [unit, step] = n >= 1e9 ? ["gigabyte", 1e9] : n >= 1e6 ? ["megabyte", 1e6] : ["kilobyte", 1e3];
  return format({ style: "unit", unit, maximumFractionDigits: 1 }).format(n / step);
}

/** A share in percent with one decimal: "1,5 %" or "1,5%", as the language writes it. */
export function formatPercent(pct, digits = 1) {
  return format({ style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(pct / 100);
}

/** A short time: "850 ms", "1,5 s". */
export function formatMilliseconds(ms) {
  return ms < 1000
    ? format({ style: "unit", unit: "millisecond", maximumFractionDigits: 0 }).format(ms)
    : format({ style: "unit", unit: "second", maximumFractionDigits: 1 }).format(ms / 1000);
}
