//! Support requests: where a request stands after each side writes.

crate::stored_enum! {
    /// Where a support request stands.
    pub enum RequestStatus {
        /// Waiting for staff.
        Open = "open",
        /// Staff replied last; waiting for the participant, if anything.
        Answered = "answered",
        Closed = "closed",
    }
}

impl RequestStatus {
    /// The status after a message: staff's answers it, the participant's (re)opens it.
    pub fn after_message(self, from_staff: bool) -> RequestStatus {
        if from_staff {
            RequestStatus::Answered
        } else {
            RequestStatus::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_moves_the_request_its_way() {
        assert_eq!(
            RequestStatus::Open.after_message(true),
            RequestStatus::Answered
        );
        assert_eq!(
            RequestStatus::Answered.after_message(false),
            RequestStatus::Open
        );
        assert_eq!(
            RequestStatus::Closed.after_message(false),
            RequestStatus::Open
        );
    }
}
