// The page's core flows in Firefox ESR (Debian's firefox-esr), over WebDriver BiDi:
// see engine-flows.js for the flows and engines.js for the driver.
import { coreFlows } from './engine-flows.js';

coreFlows('firefox');
