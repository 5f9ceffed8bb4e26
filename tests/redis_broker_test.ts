/**
 * The broker contract against a real `redis-server` (see `broker_scenarios.ts`).
 */
import { registerBrokerScenarios } from "./broker_scenarios.ts";

registerBrokerScenarios("redis");
