//! AWS errors as one line with the fix: the SDK's own text is a chain of
//! causes (~900 characters for missing credentials) that tells a person
//! little. `--verbose` (or `RUST_LOG`) prints the chain too.

use appflow_retry_runtime::ports::PortError;

/// `service`'s error as one line with what to do; with `verbose`, the SDK's
/// whole text after it.
pub fn one_line(service: &str, error: &PortError, verbose: bool) -> String {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    let line = if lower.contains("no credentials")
        || lower.contains("credential provider")
        || lower.contains("loading credentials")
    {
        format!(
            "{service}: no AWS credentials found: set AWS_PROFILE or give --profile (after `aws configure` or `aws sso login`), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    } else if lower.contains("signing region") || lower.contains("no region") {
        format!("{service}: no AWS region: give --region or set AWS_REGION")
    } else if lower.contains("expiredtoken")
        || lower.contains("token has expired")
        || lower.contains("expired") && lower.contains("token")
    {
        format!("{service}: the AWS credentials have expired: sign in again (`aws sso login`) or refresh them")
    } else if lower.contains("accessdenied") || lower.contains("not authorized") {
        let what = text
            .find("is not authorized to perform: ")
            .map(|i| &text[i + "is not authorized to perform: ".len()..])
            .and_then(|rest| rest.split([' ', ')', '"']).next())
            .map(|action| format!(" ({action})"))
            .unwrap_or_default();
        format!(
            "{service}: access denied{what}: the identity you are using lacks it (README's Operating sections list what each command needs)"
        )
    } else if matches!(error, PortError::Throttled(_)) {
        format!("{service}: throttled by AWS even after retries: try again in a minute, or lower --max-executions")
    } else if lower.contains("connection refused")
        || lower.contains("dns error")
        || lower.contains("error trying to connect")
        || lower.contains("io error")
        || lower.contains("timed out")
        || lower.contains("timeout")
    {
        format!("{service}: cannot reach the AWS endpoint: check the network, --region and --endpoint-url")
    } else {
        // The first line, without the SDK's nested debug forms.
        let first = text.lines().next().unwrap_or_default();
        let first = first.split(" (").next().unwrap_or(first);
        format!("{service}: {}", first.chars().take(300).collect::<String>())
    };
    if verbose && !line.ends_with(&text) {
        format!("{line}\n  the SDK said: {text}")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(text: &str) -> PortError {
        PortError::Unavailable(text.to_owned())
    }

    #[test]
    fn the_common_failures_read_as_one_line_with_the_fix() {
        let cases = [
            (
                unavailable("dispatch failure: other: the credential provider was not enabled: no credentials found in chain. Attempted:\n  Environment: ..."),
                "Step Functions: no AWS credentials found: set AWS_PROFILE",
            ),
            (
                unavailable("dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token: service error: request forbidden: IMDS is disabled or the caller has insufficient permissions."),
                "Step Functions: no AWS credentials found: set AWS_PROFILE",
            ),
            (
                unavailable("dispatch failure: other: missing signing region (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Other(None), source: MissingSigningRegion } }))"),
                "Step Functions: no AWS region: give --region or set AWS_REGION",
            ),
            (
                PortError::Failed("service error: AccessDeniedException: User: arn:aws:iam::1:user/u is not authorized to perform: states:ListExecutions on resource: arn:aws:states:eu-west-1:1:stateMachine:r".into()),
                "Step Functions: access denied (states:ListExecutions): the identity",
            ),
            (
                unavailable("dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)"),
                "Step Functions: cannot reach the AWS endpoint",
            ),
            (
                PortError::Throttled("ThrottlingException: Rate exceeded".into()),
                "Step Functions: throttled by AWS",
            ),
        ];
        for (error, start) in cases {
            let line = one_line("Step Functions", &error, false);
            assert!(line.starts_with(start), "{line}");
            assert!(!line.contains('\n') && line.len() < 260, "{line}");
            assert!(!line.contains("DispatchFailure"), "{line}");
        }
    }

    #[test]
    fn verbose_adds_the_sdks_text() {
        let e = unavailable("dispatch failure: other: missing signing region (DispatchFailure(..))");
        let line = one_line("SQS", &e, true);
        assert!(
            line.contains("\n  the SDK said: unavailable: dispatch failure"),
            "{line}"
        );
    }

    #[test]
    fn anything_else_is_its_first_line_without_debug_forms() {
        let e = PortError::Failed("ValidationException: bad input (ServiceError { raw: .. })\nmore".into());
        assert_eq!(
            one_line("Step Functions", &e, false),
            "Step Functions: ValidationException: bad input"
        );
    }
}
