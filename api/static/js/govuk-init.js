// Starts GOV.UK Frontend's components on pages that load it (progressive: every page works without it).
import { initAll } from "/static/govuk-frontend/govuk-frontend.min.js";

initAll();
