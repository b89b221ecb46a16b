"""The war-room view (`tsbrunbook serve`): the TUI in a browser, on textual-serve.

Each browser tab gets its own app process (textual-serve's model), run as the person whose
token logged the browser in (`TSBRUNBOOK_USER`), read-only when the token is. What textual-serve
lacks, this adds in a subclass of its `Server`: tokens swapped for a session cookie, an Origin
check on the WebSocket, a cap on sessions, revocation that ends live sessions, downloads only
to the session that made them, and a page that makes no request beyond this server."""
