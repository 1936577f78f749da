// The page's core flows in WebKit (WebKitGTK's MiniBrowser from Debian, through WebKitWebDriver under Xvfb):
// see engine-flows.js for the flows and engines.js for the driver.
import { coreFlows } from './engine-flows.js';

coreFlows('webkit');
