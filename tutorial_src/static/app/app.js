// The page of notebook 08: sign up, log in, call the API, renew the access token before it expires, log out.
// The access token lives in the variable below and nowhere else; the refresh token is in a cookie the server set
// HttpOnly, which this script can neither read nor write: the browser sends it to the auth/ routes by itself.
// A module (index.html loads it with type="module"): its variables are not globals another script could name.

const api = new URL(document.querySelector('meta[name="api-base"]').content, document.baseURI);
let accessToken = null;
let renewal = null;

const element = (id) => document.getElementById(id);

// One line per request on the page: method, path, status and the error code if any.
function log(method, path, status, detail = "") {
  const line = document.createElement("li");
  line.textContent = `${method} ${path} → ${status} ${detail}`.trim();
  element("log").append(line);
}

// The cookie routes (auth/…) get the custom header the server's CSRF check demands and the cookie
// (credentials: "include" lets it go to another origin's API too); the others get the bearer token and no
// cookie of another origin ("same-origin": through a proxy, the proxy's own login cookie still goes along).
async function call(method, path, { body, cookie = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (cookie) headers["X-Requested-With"] = "fetch";
  else if (accessToken) headers["Authorization"] = `Bearer ${accessToken}`;
  let response;
  try {
    response = await fetch(new URL(path, api), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: cookie ? "include" : "same-origin",
    });
  } catch (error) {
    log(method, path, "failed", "(no answer the page may read; the console says why, e.g. CORS)");
    return { status: 0, data: null };
  }
  const json = (response.headers.get("Content-Type") || "").startsWith("application/json");
  const data = json ? await response.json() : null;
  log(method, path, response.status, data && data.error ? data.error : "");
  return { status: response.status, data };
}

function signedIn(data) {
  accessToken = data.access_token;
  // Renew before the token expires: at 80 % of its lifetime, and never more than a minute early.
  const early = Math.min(60, data.expires_in / 5);
  clearTimeout(renewal);
  renewal = setTimeout(refresh, (data.expires_in - early) * 1000);
  element("renewal").textContent = new Date(Date.now() + (data.expires_in - early) * 1000).toLocaleTimeString();
  element("credentials").hidden = true;
  element("session").hidden = false;
}

function signedOut() {
  accessToken = null;
  clearTimeout(renewal);
  element("session").hidden = true;
  element("credentials").hidden = false;
}

async function login(email, password) {
  const { status, data } = await call("POST", "auth/login", { body: { email, password }, cookie: true });
  if (status === 200) {
    signedIn(data);
    await whoAmI();
  }
}

async function register(email, password) {
  const { status } = await call("POST", "register", { body: { email, password } });
  if (status === 201) await login(email, password);
}

async function refresh() {
  const { status, data } = await call("POST", "auth/refresh", { cookie: true });
  if (status === 200) signedIn(data);
  else signedOut();
}

async function whoAmI() {
  const { status, data } = await call("GET", "get-user");
  if (status === 200) element("who").textContent = data.email;
}

async function logout() {
  await call("POST", "auth/logout", { cookie: true });
  signedOut();
}

element("credentials").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const action = event.submitter.value === "register" ? register : login;
  action(form.get("email"), form.get("password"));
});
element("get-user").addEventListener("click", whoAmI);
element("logout").addEventListener("click", logout);

// A message for the visitor, from the link that brought them here (…/app/?notice=Welcome back).
const notice = new URLSearchParams(location.search).get("notice");
if (notice) element("notice").textContent = notice;

// A reload loses the access token (it was in memory); the cookie, if any, gets a new one.
refresh().then(() => (accessToken ? whoAmI() : null));
