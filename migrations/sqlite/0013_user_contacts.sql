-- The console user's own addresses, for "send me a test": an update's message goes to them,
-- and only to them, through the real channel, marked as a test and never counted as a
-- delivery. Set with `tocsin user add … --email --phone` or `tocsin user set NAME …`.

ALTER TABLE users ADD COLUMN email TEXT;  -- the user's own e-mail address, as checked by
                                          -- import::fields (NULL: none given)
ALTER TABLE users ADD COLUMN phone TEXT;  -- the user's own mobile number, E.164 (NULL: none)
