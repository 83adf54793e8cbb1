// The explorer as a web page: the views in main.js, asking the server over HTTP (api.js's default).
import { start } from "./main.js";

start(document);
