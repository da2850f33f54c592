"""Double-entry money movements in integer minor units: sales, platform fees, payouts (R6, R7)."""
