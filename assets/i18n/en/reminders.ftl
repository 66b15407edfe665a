# Reminder mails kiosk-central sends to readers (src/central/remind.rs).
# $name reader's name, $title title, $due due date, $pickup_by last pickup
# day, $code pickup code.
remind-greeting = Dear { $name },
remind-due-soon-subject = Due soon: { $title }
remind-due-soon-body = "{ $title }" is due on { $due }. You can renew it at a library kiosk.
remind-overdue-subject = Overdue: { $title }
remind-overdue-body = "{ $title }" was due on { $due }. Please return or renew it.
remind-hold-ready-subject = Ready for pickup: { $title }
remind-hold-ready-body = "{ $title }" waits for you on the hold shelf until { $pickup_by }. Your pickup code is { $code }.
remind-signature = Your library
