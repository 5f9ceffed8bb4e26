/**
 * The broker contract against a real `nats-server -js` (see `broker_scenarios.ts`).
 */
import { registerBrokerScenarios } from "./broker_scenarios.ts";

registerBrokerScenarios("nats");
