-- A VM lease made by claiming a reservation remembers it, so releasing the VM
-- gives the address back to the reservation instead of the pool.
ALTER TABLE leases ADD COLUMN reservation TEXT NOT NULL DEFAULT '';
CREATE INDEX leases_by_owner ON leases(owner_kind, owner);
