"""Reading and writing ``.xlsx`` files: the headless face's file layer."""
