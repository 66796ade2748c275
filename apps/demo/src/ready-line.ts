/** What the demo prints once it listens; `npm start` prints the URLs after it. */
export const READY_LINE = 'xrayjs demo is listening';
/** What the catalog service prints once it listens. */
export const CATALOG_READY_LINE = 'xrayjs catalog is listening';
