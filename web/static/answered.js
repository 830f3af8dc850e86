// One request of a page to the server, its failures said in the page's words: no answer (the
// network, a timeout, or a 5xx without the server's error shape, which came from a proxy in
// front of it) is `unanswered`, a text of the page's language; a refusal is the server's own
// message. The Error thrown carries the HTTP status when there was one.
export async function answered(unanswered, url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error(unanswered); // the browser's own words ("Failed to fetch") mean nothing here
  }
  const doc = await response.json().catch(() => ({}));
  if (!response.ok) {
    const fallback = response.status >= 500 ? unanswered : `HTTP ${response.status}`;
    const err = new Error(doc.error ? doc.error.message : fallback);
    err.status = response.status;
    throw err;
  }
  return doc;
}
