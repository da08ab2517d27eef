//! SMTP mail (lettre, async transport).
