//! The EventBridge rule's event pattern (the fixtures the Terraform tests
//! prove the module renders) against sample AppFlow events, routed by moto's
//! EventBridge (see common/routing.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::routing::{FAILED, SUCCEEDED, deactivated, routed, with};
use serde_json::json;

const PATTERN: &str = include_str!("../../../terraform/modules/service/tests/fixtures/event-pattern.json");
const PATTERN_COVERED: &str =
    include_str!("../../../terraform/modules/service/tests/fixtures/event-pattern-covered.json");
const PATTERN_RECOVERED_ALL: &str =
    include_str!("../../../terraform/modules/service/tests/fixtures/event-pattern-recovered-all.json");
const PATTERN_RECOVERED_COVERED: &str =
    include_str!("../../../terraform/modules/service/tests/fixtures/event-pattern-recovered-covered.json");

#[tokio::test]
async fn successes_match_only_for_the_flows_whose_policy_asks_for_recovered() {
    let events = [
        with(FAILED, "noisy", "noisy-failed"),
        with(SUCCEEDED, "noisy", "noisy-succeeded"),
        with(SUCCEEDED, "salesforce-accounts", "succeeded"),
        deactivated("Scheduled", "noisy"),
    ];
    assert_eq!(
        routed(PATTERN_RECOVERED_ALL, &events).await,
        ["deactivated:noisy", "noisy-failed", "succeeded"]
    );
    let events = [
        with(SUCCEEDED, "sap-orders", "asks"),
        with(SUCCEEDED, "sap-odata-sales-orders", "covered-does-not-ask"),
        with(SUCCEEDED, "salesforce-accounts", "covered-does-not-ask-2"),
        with(FAILED, "sap-odata-sales-orders", "covered-failed"),
        with(FAILED, "zendesk-tickets", "not-covered"),
        deactivated("Event", "sap-orders"),
        deactivated("Event", "zendesk-tickets"),
    ];
    assert_eq!(
        routed(PATTERN_RECOVERED_COVERED, &events).await,
        ["asks", "covered-failed", "deactivated:sap-orders"]
    );
}

#[tokio::test]
async fn failed_runs_match_and_successful_ones_do_not() {
    let mut other_source = with(FAILED, "salesforce-accounts", "other-source");
    other_source["source"] = json!("aws.s3");
    let mut odd_status = with(FAILED, "salesforce-accounts", "odd-status");
    odd_status["detail"]["status"] = json!("Execution Cancelled");
    let events = [
        with(FAILED, "salesforce-accounts", "failed"),
        with(SUCCEEDED, "salesforce-accounts", "succeeded"),
        other_source,
        odd_status,
    ];
    assert_eq!(routed(PATTERN, &events).await, ["failed", "odd-status"]);
}

#[tokio::test]
async fn the_flow_filter_takes_names_and_prefixes() {
    let events = [
        with(FAILED, "salesforce-accounts", "exact"),
        with(FAILED, "salesforce-accounts-eu", "longer-name"),
        with(FAILED, "sap-odata-sales-orders", "prefixed"),
        with(FAILED, "zendesk-tickets", "not-covered"),
        with(SUCCEEDED, "sap-odata-sales-orders", "covered-but-succeeded"),
    ];
    assert_eq!(routed(PATTERN_COVERED, &events).await, ["exact", "prefixed"]);
}

#[tokio::test]
async fn deactivations_of_scheduled_and_event_flows_match() {
    let mut other = deactivated("Scheduled", "salesforce-accounts");
    other["detail-type"] = json!("AppFlow Event Flow Report");
    let events = [
        deactivated("Scheduled", "salesforce-accounts"),
        deactivated("Event", "sap-odata-sales-orders"),
        other,
    ];
    assert_eq!(
        routed(PATTERN, &events).await,
        ["deactivated:salesforce-accounts", "deactivated:sap-odata-sales-orders"]
    );
    let events = [
        deactivated("Scheduled", "salesforce-accounts"),
        deactivated("Event", "sap-odata-sales-orders"),
        deactivated("Scheduled", "zendesk-tickets"),
    ];
    assert_eq!(
        routed(PATTERN_COVERED, &events).await,
        ["deactivated:salesforce-accounts", "deactivated:sap-odata-sales-orders"]
    );
}
