"""Singer tap for Pay. (pay.nl): payouts, their clearings and payments, fees and revenue groups."""
